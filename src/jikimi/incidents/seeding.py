"""Seed the vocabularies and the gazetteer from `jikimi.lib.gazetteer`'s data files.

Idempotent and additive: what is missing is created (a term, a place, a name of a place), what
exists is left as it is — an administrator may have relabelled or retired it. Run by the data
migration 0002 and after every `migrate` (post_migrate; `jikimi init` migrates), so entries
added to the data files appear without a new migration. Takes the app registry (`apps`) so
the migration can pass its historical models.
"""

from __future__ import annotations

from typing import Any

from jikimi.lib import gazetteer


def seed(apps: Any = None, *, using: str = "default") -> dict[str, int]:
    """Create the missing terms, places and place names; return how many of each."""
    if apps is None:
        from django.apps import apps
    try:
        Term = apps.get_model("incidents", "Term")
        Place = apps.get_model("incidents", "Place")
        PlaceName = apps.get_model("incidents", "PlaceName")
    except LookupError:  # migrating backwards, before the tables exist
        return {}
    db = Term.objects.using(using)
    have = set(db.values_list("vocabulary", "code"))
    new_terms = [
        Term(vocabulary=t.vocabulary, code=t.code, label_ko=t.ko, label_en=t.en, order=t.order)
        for vocabulary in gazetteer.VOCABULARIES
        for t in gazetteer.terms(vocabulary)
        if (t.vocabulary, t.code) not in have
    ]
    Term.objects.using(using).bulk_create(new_terms)

    entries = gazetteer.places()
    known = dict(Place.objects.using(using).values_list("code", "id"))
    new_places = [
        Place(
            code=p.code,
            kind=p.kind,
            country=p.country,
            lat=p.lat,
            lon=p.lon,
            label_ko=p.ko,
            label_en=p.en,
            label_zh=p.zh or "",
        )
        for p in entries
        if p.code not in known
    ]
    Place.objects.using(using).bulk_create(new_places)
    known = dict(Place.objects.using(using).values_list("code", "id"))
    # Parents after every place exists (a child may come before its parent in the file);
    # only places just created, so a parent an administrator changed stays changed.
    created = {p.code for p in new_places}
    for p in entries:
        if p.code in created and p.parent and p.parent in known:
            Place.objects.using(using).filter(pk=known[p.code]).update(parent_id=known[p.parent])
    have_names = set(PlaceName.objects.using(using).values_list("place_id", "key"))
    new_names = []
    for p in entries:
        for name in p.names:
            key = gazetteer.name_key(name)
            if key and (known[p.code], key) not in have_names:
                have_names.add((known[p.code], key))
                new_names.append(PlaceName(place_id=known[p.code], name=name[:200], key=key[:200]))
    PlaceName.objects.using(using).bulk_create(new_names)
    return {"terms": len(new_terms), "places": len(new_places), "names": len(new_names)}

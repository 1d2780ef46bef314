"""People search finds a name with one typing error, as a close match after the exact ones,
within what the user may see, and the index of it holds no clear text (issue #13)."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.lib.fuzzy_names import given_forms, typo_keys
from jikimi.people import services
from jikimi.people.models import IdentityIndex


@pytest.fixture
def gyeongguk(staff):
    return services.create_person(staff["caseworker"], name="김경국", birth_year=1971)


@pytest.fixture
def suksun(staff):
    return services.create_person(staff["caseworker"], name="Kim Suk-sun", birth_year=1980)


def _found(user, query) -> dict[str, str]:
    return {r.code: r.match for r in services.search_people(user, query)}


@pytest.mark.parametrize("query", ["Kim Gyeogn-guk", "Kim Gyeong-guk", "김겅국", "김경구"])
def test_it_finds_gyeongguk_from_a_spelling_or_one_typing_error(staff, gyeongguk, query):
    found = _found(staff["caseworker"], query)
    expected = "exact" if query == "Kim Gyeong-guk" else "close"
    assert found == {gyeongguk.code: expected}


def test_it_finds_suksun_written_suu_sun(staff, suksun):
    assert _found(staff["caseworker"], "Kim Suu-sun") == {suksun.code: "close"}


def test_it_does_not_find_a_name_two_typing_errors_away(staff, gyeongguk, suksun):
    worker = staff["caseworker"]
    assert _found(worker, "Kim Hyeong-gak") == {}
    assert _found(worker, "김형각") == {}
    assert _found(worker, "Kim Su-seon") == {suksun.code: "close"}  # one away
    assert _found(worker, "Kim Sa-seon") == {}  # two away


def test_it_ranks_exact_matches_before_close_ones(staff, gyeongguk):
    worker = staff["caseworker"]
    gyeongsuk = services.create_person(worker, name="김경숙")  # one letter from 김경국
    rows = services.search_people(worker, "Kim Gyeong-guk")
    assert [(r.code, r.match) for r in rows] == [
        (gyeongguk.code, "exact"),
        (gyeongsuk.code, "close"),
    ]
    rows = services.search_people(worker, "김경숙")
    assert [(r.code, r.match) for r in rows] == [
        (gyeongsuk.code, "exact"),
        (gyeongguk.code, "close"),
    ]
    event = AuditEvent.objects.filter(action="people.search").last()
    assert event.detail == {
        "results": 2,
        "codes": [gyeongsuk.code, gyeongguk.code],
        "close": 1,
    }


def test_it_keeps_other_organisations_close_matches_hidden(staff, orgs, gyeongguk):
    outsider = staff["outsider"]
    theirs = services.create_person(outsider, name="김경국")
    assert _found(outsider, "Kim Gyeogn-guk") == {theirs.code: "close"}
    assert _found(staff["caseworker"], "Kim Gyeogn-guk") == {gyeongguk.code: "close"}
    services.record_consent(staff["caseworker"], gyeongguk, purpose="sharing", granted=True)
    services.grant_access(staff["caseworker"], gyeongguk, orgs[1], "transfer of the case")
    assert _found(outsider, "Kim Gyeogn-guk") == {theirs.code: "close", gyeongguk.code: "close"}


def test_it_refuses_a_name_search_to_roles_without_identities(staff, gyeongguk):
    with pytest.raises(services.InvalidInput):
        services.search_people(staff["analyst"], "Kim Gyeogn-guk")


#: A field ciphertext (`core.crypto`: v1:<key id>:<base64>) or an argon2 password hash.
_RANDOM_BY_DESIGN = re.compile(r"\Av1:[^:]+:[A-Za-z0-9+/=]+\Z|\Aargon2")


def test_the_index_holds_no_clear_text_of_the_typo_keys(staff, gyeongguk, suksun):
    worker = staff["caseworker"]
    services.add_identity(worker, gyeongguk, kind="name", value="Kim Kyŏng-guk", name_kind="alias")
    needles = {"김경국", "경국", "Kyŏng-guk", "Suk-sun"}
    for name in ("김경국", "Kim Suk-sun"):
        for forms in given_forms(name).values():
            needles.update(form for _kind, form in forms)
        needles.update(key.split(":", 2)[2] for key in typo_keys(name))
    needles = {n for n in needles if len(n) >= 4 or not n.isascii()}  # "kyonkkok", "soksson"…
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            # Ciphertexts and password hashes are random base64 by design: a needle of five
            # letters turns up in one by chance ("…cksuksu" in an argon2 salt failed a run).
            cells = [
                str(c) for r in cur.fetchall() for c in r if not _RANDOM_BY_DESIGN.match(str(c))
            ]
            text = json.dumps(cells, ensure_ascii=False)
            for needle in needles:
                assert needle.casefold() not in text.casefold(), (table, needle)
    assert IdentityIndex.objects.filter(person=gyeongguk).count() > len(typo_keys("김경국"))


def test_reindex_and_the_migration_give_existing_names_their_typo_keys(staff, gyeongguk):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("jikimi.people.migrations.0003_index_typo_keys")
    typo = services._typo_digests("김경국")
    worker = staff["caseworker"]
    # An identity indexed before the upgrade: exact keys only.
    IdentityIndex.objects.filter(person=gyeongguk, digest__in=typo).delete()
    assert _found(worker, "Kim Gyeogn-guk") == {}
    migration.index_typo_keys(apps, None)
    assert _found(worker, "Kim Gyeogn-guk") == {gyeongguk.code: "close"}
    count = IdentityIndex.objects.filter(person=gyeongguk).count()
    migration.index_typo_keys(apps, None)  # idempotent
    assert IdentityIndex.objects.filter(person=gyeongguk).count() == count
    IdentityIndex.objects.filter(person=gyeongguk, digest__in=typo).delete()
    services.reindex_identities()
    assert IdentityIndex.objects.filter(person=gyeongguk).count() == count
    assert _found(worker, "Kim Gyeogn-guk") == {gyeongguk.code: "close"}


def test_the_migration_drops_the_deletion_variants_an_earlier_version_indexed(staff, gyeongguk):
    """Before issue #14's change a name was indexed under every one-deletion variant of its
    forms too; migration 0007 removes those rows (and only those) and leaves search as it
    was."""
    from importlib import import_module

    from django.apps import apps

    from jikimi.core.crypto import blind_index

    migration = import_module("jikimi.people.migrations.0007_typo_keys_forms_only")
    worker = staff["caseworker"]
    kept = set(IdentityIndex.objects.filter(person=gyeongguk).values_list("digest", flat=True))
    identity = gyeongguk.identities.get(kind="name")
    old = {
        blind_index(services.TYPO_INDEX_KIND, f"{kind}:{group}:{form[:i] + form[i + 1 :]}")
        for group, forms in given_forms("김경국").items()
        for kind, form in forms
        for i in range(len(form))
    } - kept  # a deletion from one form can be another form ("kyeongguk", "kyongguk")
    assert len(old) > 20
    IdentityIndex.objects.bulk_create(
        IdentityIndex(
            identity=identity,
            person=gyeongguk,
            organisation_id=gyeongguk.organisation_id,
            digest=digest,
        )
        for digest in old
    )
    exact_and_old = kept | old
    assert set(IdentityIndex.objects.values_list("digest", flat=True)) == exact_and_old
    # A row lost by an earlier crash is put back.
    lost = sorted(services._typo_digests("김경국"))[0]
    IdentityIndex.objects.filter(digest=lost).delete()
    migration.keep_forms_only(apps, None)
    assert set(IdentityIndex.objects.values_list("digest", flat=True)) == kept
    migration.keep_forms_only(apps, None)  # idempotent
    assert IdentityIndex.objects.count() == len(kept)
    assert _found(worker, "Kim Gyeogn-guk") == {gyeongguk.code: "close"}
    assert _found(worker, "김경국") == {gyeongguk.code: "exact"}


def test_the_page_shows_close_matches_apart(client, staff, login, gyeongguk):
    suk = services.create_person(staff["caseworker"], name="김경숙")
    login(client, staff["caseworker"])
    body = client.post(reverse("people:list"), {"q": "Kim Gyeong-guk"}).content.decode()
    exact_part, close_part = body.split('data-results="close"')
    assert gyeongguk.code in exact_part and suk.code not in exact_part
    assert suk.code in close_part and gyeongguk.code not in close_part
    assert "비슷한 이름" in close_part  # Korean first
    body = client.post(
        reverse("people:list"), {"q": "Kim Gyeogn-guk"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Close matches" in body and "Nobody matches" not in body
    assert "Nobody has exactly this name." in body and "0 people found" not in body
    assert "1 person whose name is one typing error away" in body


def test_the_api_marks_close_matches(api_client, api_token, staff, gyeongguk):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    data = api_client.get("/api/people/", {"q": "Kim Gyeogn-guk"}).json()
    assert [(r["code"], r["match"]) for r in data["results"]] == [(gyeongguk.code, "close")]
    data = api_client.get("/api/people/", {"q": "김경국"}).json()
    assert [(r["code"], r["match"]) for r in data["results"]] == [(gyeongguk.code, "exact")]
    assert api_client.get("/api/people/").json()["results"][0]["match"] == ""


def test_removing_an_identity_or_deleting_the_person_leaves_no_index_row(staff, gyeongguk):
    """The index rows go with their identity (the person's key on them has no index and does
    nothing on delete): removing one name drops its keys only, deleting the person all."""
    worker = staff["caseworker"]
    extra = services.add_identity(worker, gyeongguk, kind="name", value="Kim Kyong-guk")
    assert IdentityIndex.objects.filter(identity=extra).exists()
    others = set(IdentityIndex.objects.exclude(identity=extra).values_list("pk", flat=True))
    services.remove_identity(worker, gyeongguk, str(extra.pk))
    assert set(IdentityIndex.objects.values_list("pk", flat=True)) == others
    assert _found(worker, "김경국") == {gyeongguk.code: "exact"}
    gyeongguk.delete()
    assert not IdentityIndex.objects.exists()
    assert _found(worker, "김경국") == {}


def _rebuilt_by(migration: str, worker, person, hangul: str) -> None:
    """Drop the person's index rows (a name indexed before the change), run `migration`'s
    reindex, and find the rows and the exact match back."""
    from importlib import import_module

    from django.apps import apps

    kept = set(IdentityIndex.objects.filter(person=person).values_list("digest", flat=True))
    IdentityIndex.objects.filter(person=person).delete()
    assert _found(worker, hangul) == {}
    import_module(f"jikimi.people.migrations.{migration}").reindex(apps, None)
    assert set(IdentityIndex.objects.filter(person=person).values_list("digest", flat=True)) == kept
    assert _found(worker, hangul) == {person.code: "exact"}


def test_a_popular_surname_spelling_is_found_as_the_surname_and_reindexed(staff):
    """A name spelt "Whang Sun-hui" is 황순희 (the surname as many families spell it): the Hangul
    finds it exactly; migration 0008 puts back the rows of a name indexed before that."""
    worker = staff["caseworker"]
    whang = services.create_person(worker, name="Whang Sun-hui")
    assert _found(worker, "황순희") == {whang.code: "exact"}
    assert _found(worker, "Hwang Sun-hui") == {whang.code: "exact"}
    _rebuilt_by("0008_reindex_surname_spellings", worker, whang, "황순희")


def test_a_name_ending_in_ui_keeps_its_surname_and_is_reindexed(staff):
    """ "Cha Sun Ui" is 차순의: "Ui" was read as the surname 이 (ㅢ shares ㅣ's fine code), so
    the name also answered a search for 이차순. Migration 0009 rebuilds the rows of a name
    indexed before."""
    worker = staff["caseworker"]
    cha = services.create_person(worker, name="Cha Sun Ui")
    assert _found(worker, "차순의") == {cha.code: "exact"}
    assert "exact" not in _found(worker, "이차순").values()
    _rebuilt_by("0009_reindex_three_token_names", worker, cha, "차순의")

"""Vocabularies and the gazetteer of incidents, as data (DESIGN §5, layer 0, pure Python).

The terms (act types, perpetrators, involvement degrees, source kinds, the source-reliability
and information-credibility grades, return determinations) and the places (North Korean
provinces, cities and counties; Chinese border cities, crossing points and detention
facilities; third-country transit points) live in `data/vocabularies.json` and
`data/gazetteer.json`, with Korean and English labels and, for places, the Chinese name and
coordinates. The incidents app seeds its tables from them; administrators add more in the
pages. This module is the one reader of those files and of place names: `name_key` is the
form every name of a place is looked up by, so 투먼, Tumen and 图们 find the same place.
"""

from __future__ import annotations

import difflib
import json
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "VOCABULARIES",
    "PlaceEntry",
    "Term",
    "by_code",
    "children",
    "distance_km",
    "find_place",
    "name_key",
    "nearest_names",
    "places",
    "terms",
    "within_km",
]

DATA = Path(__file__).resolve().parent / "data"

#: The vocabularies, in the order the pages list them.
VOCABULARIES = (
    "act_type",
    "perpetrator",
    "involvement",
    "source_kind",
    "source_reliability",
    "information_credibility",
    "determination",
)


@dataclass(frozen=True)
class Term:
    vocabulary: str
    code: str
    ko: str
    en: str
    order: int
    #: A short explanation for the pages (optional in the data file: "" when absent).
    description_ko: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class PlaceEntry:
    code: str  # a stable slug, e.g. "cn-tumen"
    kind: str  # province, prefecture, city, county, town, crossing, detention, transit, river
    country: str  # ISO 3166-1 alpha-2
    parent: str | None
    lat: float
    lon: float
    ko: str
    en: str
    zh: str | None
    aliases: tuple[str, ...] = ()
    #: ISO 3166-2:KP of a North Korean first-level division (a code of `lib.places`), else None.
    iso: str | None = None
    #: Why the position is approximate, or that the exact site is not public; else None.
    note: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the place is known by: Korean, English, Chinese, then the aliases."""
        return tuple(n for n in (self.ko, self.en, self.zh, *self.aliases) if n)


@cache
def _vocabularies() -> dict[str, tuple[Term, ...]]:
    raw = json.loads((DATA / "vocabularies.json").read_text(encoding="utf-8"))
    # A term is `[code, ko, en]` or `[code, ko, en, description_ko, description_en]`.
    return {
        name: tuple(_term(name, i, row) for i, row in enumerate(raw[name])) for name in VOCABULARIES
    }


def _term(vocabulary: str, order: int, row: list[str]) -> Term:
    code, ko, en = row[:3]
    description_ko, description_en = (row[3], row[4]) if len(row) >= 5 else ("", "")
    return Term(vocabulary, code, ko, en, order, description_ko, description_en)


def terms(vocabulary: str) -> tuple[Term, ...]:
    """The terms of `vocabulary` (one of VOCABULARIES; KeyError for another name)."""
    return _vocabularies()[vocabulary]


@cache
def places() -> tuple[PlaceEntry, ...]:
    raw = json.loads((DATA / "gazetteer.json").read_text(encoding="utf-8"))
    return tuple(
        PlaceEntry(
            code=p["code"],
            kind=p["kind"],
            country=p["country"],
            parent=p.get("parent"),
            lat=float(p["lat"]),
            lon=float(p["lon"]),
            ko=p["ko"],
            en=p["en"],
            zh=p.get("zh"),
            aliases=tuple(p.get("aliases", ())),
            iso=p.get("iso"),
            note=p.get("note"),
        )
        for p in raw["places"]
    )


@cache
def _by_code() -> dict[str, PlaceEntry]:
    return {p.code: p for p in places()}


def by_code(code: str) -> PlaceEntry | None:
    """The place of the data files with this code (e.g. "cn-tumen"), or None."""
    return _by_code().get(code)


def children(code: str) -> tuple[PlaceEntry, ...]:
    """The places whose parent is `code` (directly, in file order; () for none)."""
    return tuple(p for p in places() if p.parent == code)


def within_km(
    lat: float, lon: float, km: float, kinds: Iterable[str] | None = None
) -> list[tuple[PlaceEntry, float]]:
    """The places within `km` of (lat, lon), nearest first, each with its distance in km;
    only of `kinds` (e.g. {"crossing", "detention"}) when given."""
    wanted = set(kinds) if kinds is not None else None
    found = [
        (p, distance_km(lat, lon, p.lat, p.lon))
        for p in places()
        if wanted is None or p.kind in wanted
    ]
    return sorted(((p, d) for p, d in found if d <= km), key=lambda pd: (pd[1], pd[0].code))


def name_key(text: str) -> str:
    """The look-up form of a place name: NFKC, case folded, without spaces, hyphens,
    apostrophes and dots ("Tumen", " tumen ", "TU-MEN" → "tumen"; 图们 stays 图们)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@cache
def _by_key() -> dict[str, PlaceEntry]:
    found: dict[str, PlaceEntry] = {}
    for place in places():
        for name in place.names:
            found.setdefault(name_key(name), place)
    return found


def find_place(text: str) -> PlaceEntry | None:
    """The place of the data files that any of its names (`name_key`) equals, or None."""
    return _by_key().get(name_key(text))


def nearest_names(text: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` of `names` closest to `text` (for "unknown place X: did you mean …")."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(name_key(name), name)
    close = difflib.get_close_matches(name_key(text), list(by_key), n=n, cutoff=0.5)
    return [by_key[k] for k in close]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))

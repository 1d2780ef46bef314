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
    "distance_km",
    "find_place",
    "name_key",
    "nearest_names",
    "places",
    "terms",
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


@dataclass(frozen=True)
class PlaceEntry:
    code: str  # a stable slug, e.g. "cn-tumen"
    kind: str  # province, city, county, crossing, detention, transit
    country: str  # ISO 3166-1 alpha-2
    parent: str | None
    lat: float
    lon: float
    ko: str
    en: str
    zh: str | None
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the place is known by: Korean, English, Chinese, then the aliases."""
        return tuple(n for n in (self.ko, self.en, self.zh, *self.aliases) if n)


@cache
def _vocabularies() -> dict[str, tuple[Term, ...]]:
    raw = json.loads((DATA / "vocabularies.json").read_text(encoding="utf-8"))
    return {
        name: tuple(Term(name, code, ko, en, i) for i, (code, ko, en) in enumerate(raw[name]))
        for name in VOCABULARIES
    }


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
        )
        for p in raw["places"]
    )


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

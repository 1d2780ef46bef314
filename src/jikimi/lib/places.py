"""North Korean provinces of origin: the one vocabulary (DESIGN §2, layer 0, pure Python).

Each province or special city has its ISO 3166-2:KP code (the canonical form the Person
model, the forms and the API keep), its Hangul and English names, and every spelling the
readers of free text accept: Hangul stems (함경북도, 함북) and romanised stems after
`korean._fold_place` (k→g, p→b, ch→j, eo→o). `korean.province_code` maps any spelling
to a code with these; the people form offers `PROVINCES`; the importer and the engine read a
province with `korean.province_code`, so a code such as `KP-01` is accepted everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from jikimi.lib.i18n import gettext_noop

__all__ = ["PROVINCES", "Province", "by_code", "iso_code"]


@dataclass(frozen=True)
class Province:
    code: str  # ISO 3166-2:KP
    hangul: str
    english: str  # translatable (`gettext` at the point of display)
    hangul_stems: tuple[str, ...]  # a Hangul spelling that starts with one of these
    romanised_stems: tuple[str, ...]  # folded romanised stems (see the module docstring)
    #: Which half of a North/South pair this is ("Hamgyong" alone names neither).
    half: Literal["north", "south"] | None = None


PROVINCES: tuple[Province, ...] = (
    Province("KP-01", "평양직할시", gettext_noop("Pyongyang"), ("평양",), ("byongyang",)),
    Province(
        "KP-02",
        "평안남도",
        gettext_noop("South Pyongan"),
        ("평안남", "평남"),
        ("byongan",),
        "south",
    ),
    Province(
        "KP-03",
        "평안북도",
        gettext_noop("North Pyongan"),
        ("평안북", "평북"),
        ("byongan",),
        "north",
    ),
    Province("KP-04", "자강도", gettext_noop("Chagang"), ("자강",), ("jagang",)),
    Province(
        "KP-05",
        "황해남도",
        gettext_noop("South Hwanghae"),
        ("황해남", "황남"),
        ("hwanghae",),
        "south",
    ),
    Province(
        "KP-06",
        "황해북도",
        gettext_noop("North Hwanghae"),
        ("황해북", "황북"),
        ("hwanghae",),
        "north",
    ),
    Province("KP-07", "강원도", gettext_noop("Kangwon"), ("강원",), ("gangwon",)),
    Province(
        "KP-08",
        "함경남도",
        gettext_noop("South Hamgyong"),
        ("함경남", "함남"),
        ("hamgyong", "hamgyung"),
        "south",
    ),
    Province(
        "KP-09",
        "함경북도",
        gettext_noop("North Hamgyong"),
        ("함경북", "함북"),
        ("hamgyong", "hamgyung"),
        "north",
    ),
    Province("KP-10", "량강도", gettext_noop("Ryanggang"), ("양강", "량강"), ("yanggang",)),
    Province(
        "KP-13",
        "라선특별시",
        gettext_noop("Rason"),
        ("라선", "나선"),
        ("rason", "nason", "rajinsonbong"),
    ),
    Province("KP-14", "남포특별시", gettext_noop("Nampo"), ("남포",), ("nambo", "jinnambo")),
    Province("KP-15", "개성특별시", gettext_noop("Kaesong"), ("개성",), ("gaesong",)),
)

_BY_CODE = {p.code: p for p in PROVINCES}
_ISO = re.compile(r"^\s*kp\s*-?\s*(\d{1,2})\s*$", re.IGNORECASE)


def by_code(code: str) -> Province | None:
    return _BY_CODE.get(code)


def iso_code(text: str) -> str | None:
    """`KP-01`, `kp-1`, `KP01` → "KP-01" when it is one of the codes above, else None."""
    match = _ISO.match(text)
    if not match:
        return None
    code = f"KP-{int(match.group(1)):02d}"
    return code if code in _BY_CODE else None

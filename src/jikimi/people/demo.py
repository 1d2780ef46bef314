"""Synthetic demo data for `jikimi serve --demo`, the people app's part: organisations, staff
of every role, about 500 made-up people whose names are written in Hangul and in several
romanisations, the README's example person (이지현 = Lee Ji-hyun = Ri Ji Hyon) and four source
lists that overlap (for linkage's review queue and the estimates page). The check-in and alert
parts are jikimi.ops.demo's, which calls this first.

Everything here is invented (names are random combinations of common syllables); nothing
describes a real person.
"""

from __future__ import annotations

import random
from typing import Any

from django.db import transaction

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.lib import places
from jikimi.lib.korean import province_code

from . import importer, services
from .models import ConsentPurpose, IdentityKind, NameKind, Person, PersonStatus, SourceRecord

DEMO_PASSWORD = "jikimi-demo-password"  # noqa: S105 - printed on the demo login page on purpose
DEMO_ORGS = [
    ("hanbit", "한빛 정착지원센터 (Hanbit Resettlement Centre)"),
    ("saebyeok", "새벽 인권센터 (Saebyeok Human Rights Centre)"),
    ("dambi", "담비 가족지원 (Dambi Family Support)"),
]
DEMO_STAFF = [
    ("demo-admin", "hanbit", "admin"),
    ("demo-supervisor", "hanbit", "supervisor"),
    ("demo-caseworker", "hanbit", "caseworker"),
    ("demo-analyst", "hanbit", "analyst"),
    ("demo-auditor", "hanbit", "auditor"),
    ("demo-caseworker2", "saebyeok", "caseworker"),
    ("demo-caseworker3", "dambi", "caseworker"),
]

# Surnames: Hangul (South), the North's spelling in Hangul, and romanisations
# (Revised, McCune–Reischauer, popular, North).
SURNAMES = [
    ("김", "김", "Gim", "Kim", "Kim", "Kim"),
    ("이", "리", "I", "Yi", "Lee", "Ri"),
    ("박", "박", "Bak", "Pak", "Park", "Pak"),
    ("최", "최", "Choe", "Ch'oe", "Choi", "Choe"),
    ("정", "정", "Jeong", "Chŏng", "Jung", "Jong"),
    ("강", "강", "Gang", "Kang", "Kang", "Kang"),
    ("조", "조", "Jo", "Cho", "Cho", "Jo"),
    ("윤", "윤", "Yun", "Yun", "Yoon", "Yun"),
    ("장", "장", "Jang", "Chang", "Jang", "Jang"),
    ("임", "림", "Im", "Im", "Lim", "Rim"),
    ("한", "한", "Han", "Han", "Han", "Han"),
    ("오", "오", "O", "O", "Oh", "O"),
    ("서", "서", "Seo", "Sŏ", "Seo", "So"),
    ("신", "신", "Sin", "Sin", "Shin", "Sin"),
    ("황", "황", "Hwang", "Hwang", "Hwang", "Hwang"),
    ("안", "안", "An", "An", "Ahn", "An"),
    ("송", "송", "Song", "Song", "Song", "Song"),
    ("홍", "홍", "Hong", "Hong", "Hong", "Hong"),
    ("유", "류", "Yu", "Yu", "Yoo", "Ryu"),
    ("전", "전", "Jeon", "Chŏn", "Jun", "Jon"),
]
# Given-name syllables: Hangul, North Hangul (initial ㄹ kept), Revised, MR, popular.
SYLLABLES = [
    ("지", "지", "ji", "chi", "ji"),
    ("현", "현", "hyeon", "hyŏn", "hyun"),
    ("서", "서", "seo", "sŏ", "seo"),
    ("연", "연", "yeon", "yŏn", "yeon"),
    ("민", "민", "min", "min", "min"),
    ("준", "준", "jun", "chun", "joon"),
    ("영", "영", "yeong", "yŏng", "young"),
    ("수", "수", "su", "su", "soo"),
    ("성", "성", "seong", "sŏng", "sung"),
    ("철", "철", "cheol", "ch'ŏl", "chul"),
    ("은", "은", "eun", "ŭn", "eun"),
    ("희", "희", "hui", "hŭi", "hee"),
    ("정", "정", "jeong", "chŏng", "jung"),
    ("혜", "혜", "hye", "hye", "hye"),
    ("진", "진", "jin", "chin", "jin"),
    ("미", "미", "mi", "mi", "mi"),
    ("경", "경", "gyeong", "kyŏng", "kyung"),
    ("옥", "옥", "ok", "ok", "ok"),
    ("순", "순", "sun", "sun", "soon"),
    ("명", "명", "myeong", "myŏng", "myung"),
    ("광", "광", "gwang", "kwang", "kwang"),
    ("남", "남", "nam", "nam", "nam"),
    ("일", "일", "il", "il", "il"),
    ("호", "호", "ho", "ho", "ho"),
    ("금", "금", "geum", "kŭm", "keum"),
    ("화", "화", "hwa", "hwa", "hwa"),
    ("춘", "춘", "chun", "ch'un", "choon"),
    ("혁", "혁", "hyeok", "hyŏk", "hyuk"),
    ("용", "룡", "yong", "yong", "yong"),
    ("향", "향", "hyang", "hyang", "hyang"),
    ("복", "복", "bok", "pok", "bok"),
    ("란", "란", "ran", "ran", "ran"),
]
PROVINCES = [
    "함경북도",
    "양강도",
    "함경남도",
    "평안남도",
    "평안북도",
    "자강도",
    "황해북도",
    "황해남도",
    "강원도",
    "평양시",
    "남포시",
    "라선시",
]
CHINA_ALIASES = [
    ("李梅", "Li Mei"),
    ("金花", "Jin Hua"),
    ("朴丽", "Piao Li"),
    ("崔红", "Cui Hong"),
    ("张静", "Zhang Jing"),
    ("王芳", "Wang Fang"),
    ("刘英", "Liu Ying"),
    ("赵兰", "Zhao Lan"),
    ("金哲", "Jin Zhe"),
    ("朴成", "Piao Cheng"),
]
# Free text a case worker types (in Korean, as they would).
RELATIONS = ["언니", "오빠", "친구", "목사", "사촌", "배우자"]


def _plain(syllable: str) -> str:
    return syllable.replace("ŏ", "o").replace("ŭ", "u").replace("'", "")


def _names(rng: random.Random) -> dict[str, str]:
    s = rng.choice(SURNAMES)
    g = rng.sample(SYLLABLES, 2)
    return {
        "hangul": s[0] + g[0][0] + g[1][0],
        "north_hangul": s[1] + g[0][1] + g[1][1],
        "rr": f"{s[2]} {g[0][2].capitalize()}-{g[1][2]}",
        "mr": f"{s[3]} {g[0][3].capitalize()}-{g[1][3]}",
        "popular": f"{s[4]} {g[0][4].capitalize()}{g[1][4]}",
        # The North writes syllables apart and without breves: "Ri Ji Hyon".
        "north": f"{s[5]} {g[0][2].capitalize()} {_plain(g[1][3]).capitalize()}",
    }


# The README's example (이지현 = Lee Ji-hyun = Ri Ji Hyon): a person the case worker keeps, with
# the other spellings as her identities, and records of her in three of the demo's lists that
# linkage joins to her (two automatically, the North's broadcast to the review queue).
EXAMPLE: dict[str, Any] = {
    "hangul": "이지현",
    "popular": "Lee Ji-hyun",
    "north": "Ri Ji Hyon",
    "north_hangul": "리지현",
    "birth_date": "1989-03-14",
    "sex": "F",
    "province": "KP-09",  # North Hamgyong
    "defection_year": 2011,
    # Found by search (a phone number is blind-indexed): how the seed knows she is there.
    "phone": "010-2026-0314",
}
EXAMPLE_RECORDS = [
    {
        "record_id": "FR-EX-1",
        "source": "family_report",
        "name": "Lee Jihyun",
        "birth_date": "1989-03",
        "sex": "F",
        "province": "North Hamgyong",
    },
    {
        "record_id": "NGO-EX-1",
        "source": "ngo_list",
        "name": "Yi Chi-hyŏn",
        "birth_date": "1989",
        "sex": "F",
        "province": "Hamgyŏng-pukto",
        "defection_year": "2011",
    },
    {
        "record_id": "NK-EX-1",
        "source": "nk_media",
        "name": "Ri Ji Hyon",
        "name_hangul": "리지현",
        "sex": "F",
        "province": "함경북도",
    },
]

# The lists an analyst estimates from (the estimates page): each a source of person records,
# imported as a file would be. Every individual of one made-up population is on each list
# with that list's chance, written as that source writes names, so the lists overlap as real
# ones do and linkage has to join the spellings before they can be counted.
DEMO_LISTS = (
    ("case_file", 0.45),  # the centre's own files: Hangul and Revised, full birth date
    ("family_report", 0.35),  # families: popular spelling, birth month
    ("ngo_list", 0.3),  # a partner NGO: McCune–Reischauer, birth year
    ("nk_media", 0.15),  # the North's media: its own spelling, no birth date
)
LIST_POPULATION = 200
LIST_PREFIX = {"case_file": "CF", "family_report": "FR", "ngo_list": "NGO", "nk_media": "NK"}


def demo_staff() -> dict[str, User]:
    """The demo organisations and staff (created when missing), by user name."""
    orgs = {slug: accounts.ensure_organisation(slug, name) for slug, name in DEMO_ORGS}
    users: dict[str, User] = {}
    for username, org, role in DEMO_STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user, _ = accounts.create_staff(username, DEMO_PASSWORD, orgs[org], role)
        users[username] = user
    return users


def other_data_present() -> bool:
    """People of an organisation that is not the demo's: the demo never seeds beside them."""
    return Person.objects.exclude(organisation__slug__in=[slug for slug, _ in DEMO_ORGS]).exists()


def seed_demo(
    people_count: int = 500, seed: int = 2026, list_population: int = LIST_POPULATION
) -> str:
    """Seed the demo's people: each part only when it is missing, so running it again changes
    nothing, and a demo database of an older version gets the parts it lacks.

    Parts: organisations and staff; `people_count` people (marker: the third organisation has
    people, and only this part gives it any); the README's example person (marker: her phone
    number, found by search); the source lists (marker: any record of those lists)."""
    if other_data_present():
        return "not seeding demo data: the database holds other organisations' people"
    rng = random.Random(seed)
    done: list[str] = []
    with transaction.atomic():
        users = demo_staff()
        worker = users["demo-caseworker"]
        if not Person.objects.filter(organisation__slug=DEMO_ORGS[2][0]).exists():
            workers = [worker, users["demo-caseworker2"], users["demo-caseworker3"]]
            for i in range(people_count):
                _seed_person(rng, workers[0] if i % 5 < 3 else workers[1 + i % 2])
            audit.record("demo.seed", detail={"people": people_count})
            done.append(f"{people_count} synthetic people")
        if find_example(worker) is None:
            seed_example(worker)
            done.append(f"the example person {EXAMPLE['hangul']}")
        organisation = worker.organisation
        if not SourceRecord.objects.filter(
            organisation=organisation, source__in=[name for name, _ in DEMO_LISTS]
        ).exists():
            created = seed_source_lists(organisation, random.Random(seed + 1), list_population)
            done.append(f"{created} records on {len(DEMO_LISTS)} source lists")
    if not done:
        return "demo data already present"
    return (
        f"seeded demo data: {len(DEMO_ORGS)} organisations, {len(DEMO_STAFF)} staff, "
        + ", ".join(done)
    )


def find_example(user: User) -> str | None:
    """The example person's code, found as staff would find her (by her phone number)."""
    rows = services.search_people(user, EXAMPLE["phone"])
    return rows[0].code if rows else None


def seed_example(worker: User) -> Person:
    person = services.create_person(
        worker,
        name=EXAMPLE["hangul"],
        name_kind=NameKind.SOUTH_LEGAL,
        birth_year=int(EXAMPLE["birth_date"][:4]),
        sex=EXAMPLE["sex"],
        province=EXAMPLE["province"],
        defection_year=EXAMPLE["defection_year"],
    )
    for value, kind in (
        (EXAMPLE["popular"], NameKind.SOUTH_LEGAL),
        (EXAMPLE["north"], NameKind.NORTH_BIRTH),
    ):
        services.add_identity(worker, person, kind=IdentityKind.NAME, value=value, name_kind=kind)
    services.add_identity(worker, person, kind=IdentityKind.BIRTH_DATE, value=EXAMPLE["birth_date"])
    services.add_identity(worker, person, kind=IdentityKind.PHONE, value=EXAMPLE["phone"])
    for purpose in (ConsentPurpose.CHECKINS, ConsentPurpose.SHARING):
        services.record_consent(
            worker,
            person,
            purpose=purpose,
            granted=True,
            method="written",
            scope="협력 기관" if purpose == ConsentPurpose.SHARING else "",
        )
    services.add_trusted_contact(
        worker, person, name="이수민", relationship="언니", phone="010-2026-0315"
    )
    return person


def list_rows(rng: random.Random, population: int) -> list[dict[str, str]]:
    """The demo lists' person records (the person-record CSV's columns), the example's too."""
    rows: list[dict[str, str]] = [dict(r) for r in EXAMPLE_RECORDS]
    count = {name: 1 for name, _ in DEMO_LISTS}
    for _i in range(population):
        names = _names(rng)
        birth = f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        sex = rng.choice("MFF")
        province = rng.choice(places.PROVINCES)
        defection = str(rng.randint(max(int(birth[:4]) + 14, 2000), 2025))
        for source, chance in DEMO_LISTS:
            if rng.random() >= chance:
                continue
            row = {"record_id": f"{LIST_PREFIX[source]}-{count[source]:04d}", "source": source}
            count[source] += 1
            if source == "case_file":
                row |= {
                    "name": names["rr"],
                    "name_hangul": names["hangul"],
                    "birth_date": birth,
                    "sex": sex,
                    "province": province.hangul,
                    "defection_year": defection,
                }
            elif source == "family_report":
                row |= {
                    "name": names["popular"],
                    "birth_date": birth[:7],
                    "sex": sex,
                    "province": province.english,
                }
            elif source == "ngo_list":
                row |= {
                    "name": names["mr"],
                    "birth_date": birth[:4],
                    "sex": sex,
                    "province": province.english,
                    "defection_year": defection,
                }
            else:
                # A broadcast gives the age (so the birth year) more often than the province.
                row |= {"name": names["north"], "name_hangul": names["north_hangul"], "sex": sex}
                if rng.random() < 0.7:
                    row["birth_date"] = birth[:4]
                if rng.random() < 0.4:
                    row["province"] = province.hangul
            rows.append(row)
    return rows


def seed_source_lists(organisation, rng: random.Random, population: int) -> int:
    """Import the demo lists as `jikimi import people` would (one import per list); linkage
    then joins their records after the commit, as it does for any import."""
    rows = list_rows(rng, population)
    created = 0
    for source, _chance in DEMO_LISTS:
        result = importer.import_rows(
            [r for r in rows if r["source"] == source], organisation, name=f"demo-{source}.csv"
        )
        if result.problems:  # a bug in the generator, never a visitor's doing
            raise ValueError(f"demo list {source}: {result.problems[0]}")
        created += result.created
    return created


def _seed_person(rng: random.Random, worker: User) -> Person:
    names = _names(rng)
    birth_year = rng.randint(1950, 2006)
    primary_hangul = rng.random() < 0.85
    person = services.create_person(
        worker,
        name=names["hangul"] if primary_hangul else names[rng.choice(["rr", "popular"])],
        name_kind=NameKind.SOUTH_LEGAL,
        birth_year=birth_year,
        sex=rng.choice("MFFF"),
        province=province_code(rng.choice(PROVINCES)) or "",
        defection_year=rng.randint(max(birth_year + 14, 1998), 2025)
        if birth_year + 14 <= 2025
        else None,
    )
    # Other spellings of the same name, as different sources would write it.
    for style in rng.sample(["rr", "mr", "popular", "north", "north_hangul"], rng.randint(1, 2)):
        kind = NameKind.NORTH_BIRTH if style.startswith("north") else NameKind.OTHER_ALIAS
        services.add_identity(
            worker, person, kind=IdentityKind.NAME, value=names[style], name_kind=kind
        )
    if rng.random() < 0.3:
        hanzi, pinyin = rng.choice(CHINA_ALIASES)
        services.add_identity(
            worker,
            person,
            kind=IdentityKind.NAME,
            value=rng.choice([hanzi, pinyin]),
            name_kind=NameKind.CHINA_ALIAS,
        )
    services.add_identity(
        worker,
        person,
        kind=IdentityKind.BIRTH_DATE,
        value=f"{birth_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    )
    if rng.random() < 0.7:
        services.add_identity(
            worker,
            person,
            kind=IdentityKind.PHONE,
            value=f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}",
        )
    if rng.random() < 0.6:
        services.record_consent(
            worker, person, purpose=ConsentPurpose.CHECKINS, granted=True, method="written"
        )
    if rng.random() < 0.2:
        services.record_consent(
            worker,
            person,
            purpose=ConsentPurpose.SHARING,
            granted=True,
            method="written",
            scope="협력 기관",
        )
    if rng.random() < 0.4:
        contact = _names(rng)
        services.add_trusted_contact(
            worker,
            person,
            name=contact["hangul"],
            relationship=rng.choice(RELATIONS),
            phone=f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}",
        )
    if rng.random() < 0.03:
        services.update_person(
            worker, person, status=rng.choice([PersonStatus.MISSING, PersonStatus.DETAINED])
        )
    return person

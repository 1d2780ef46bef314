"""Synthetic demo data for `jikimi serve --demo`: organisations, staff of every role and about
500 made-up people whose names are written in Hangul and in several romanisations.

Everything here is invented (names are random combinations of common syllables); nothing
describes a real person.
"""

from __future__ import annotations

import random

from django.db import transaction

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.lib.korean import province_code

from . import services
from .models import ConsentPurpose, IdentityKind, NameKind, Person, PersonStatus

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
RELATIONS = ["sister", "brother", "friend", "pastor", "cousin", "spouse"]


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


def seed_demo(people_count: int = 500, seed: int = 2026) -> str:
    """Seed if there are no people yet; idempotent otherwise."""
    if Person.objects.exists():
        return "demo data already present"
    rng = random.Random(seed)
    with transaction.atomic():
        orgs = {slug: accounts.ensure_organisation(slug, name) for slug, name in DEMO_ORGS}
        users: dict[str, User] = {}
        for username, org, role in DEMO_STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                user, _ = accounts.create_staff(username, DEMO_PASSWORD, orgs[org], role)
            users[username] = user
        workers = [users["demo-caseworker"], users["demo-caseworker2"], users["demo-caseworker3"]]
        for i in range(people_count):
            worker = workers[0] if i % 5 < 3 else workers[1 + i % 2]
            _seed_person(rng, worker)
    audit.record("demo.seed", detail={"people": people_count})
    return (
        f"seeded demo data: {len(DEMO_ORGS)} organisations, {len(DEMO_STAFF)} staff, "
        f"{people_count} synthetic people"
    )


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
            scope="partner organisations",
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

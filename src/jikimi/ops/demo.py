"""The whole demo of `jikimi serve --demo` (and `make run`): synthetic data that shows every
capability, seeded through each app's services so it is as consistent as real use makes it.

- people, the README's example 이지현 = Lee Ji-hyun = Ri Ji Hyon, four overlapping source lists
  (jikimi.people.demo); linkage links their records after each commit, as for any import,
  so the review queue holds the pairs the model was unsure of and the estimates page has lists;
- check-ins (here): one enrolment of each state a case worker meets — active with check-ins,
  paused, waiting for PINs, a missed check-in and a duress PIN (open alerts, raised by the
  monitor's own pass), a closed alert with its reason, an acknowledged wrong-PIN alert and a
  drill;
- documentation and cases (here): incidents with graded sources (a coerced family call to the
  example person, an arrest near Tumen, a North Korean broadcast of a returnee), a protection
  case opened from the arrest with its review deadline and a family contact, and the
  returnee's determination.

Idempotent: each part is seeded only when it is missing (see each part's marker), so running
`serve --demo` again changes nothing. Everything is invented; nothing describes a real person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jikimi.accounts.models import User
from jikimi.alerts import services as alerts
from jikimi.checkins import monitor
from jikimi.checkins import services as checkins
from jikimi.checkins.models import Enrolment
from jikimi.people import demo as people_demo
from jikimi.people import services as people
from jikimi.people.models import ConsentPurpose, Person

# Demo PINs (printed nowhere: a visitor checks in through a set-up link of their own).
PIN, DURESS_PIN = "4817", "6093"

CLOSE_REASON = (
    "전화로 본인과 통화함: 휴대전화가 고장 나 체크인하지 못했음. 새 체크인 링크를 보냄. "
    "(Reached her by phone: her phone had broken; a new check-in link was sent.)"
)
PAUSE_REASON = "병원 입원, 2주 (in hospital for two weeks)"


def seed_demo(
    people_count: int = 500, seed: int = 2026, list_population: int = people_demo.LIST_POPULATION
) -> str:
    """Seed every part of the demo that is missing; a summary line for the console."""
    summary = people_demo.seed_demo(
        people_count=people_count, seed=seed, list_population=list_population
    )
    if people_demo.other_data_present():
        return summary
    worker = User.objects.get(username="demo-caseworker")
    if not checkins.visible_enrolments(worker).exists():
        supervisor = User.objects.get(username="demo-supervisor")
        made = seed_checkins(worker, supervisor)
        summary = (
            f"{summary}; check-ins: {made} enrolments with open, acknowledged, closed and "
            "drill alerts"
        )
    from jikimi.incidents import services as incidents

    if not incidents.list_events(worker, offset=0, limit=1)[0]:
        events = seed_documentation(worker)
        summary = f"{summary}; incidents: {events} events, a protection case, a determination"
    return summary


def seed_documentation(worker: User) -> int:
    """Three incidents, a case from the arrest and the returnee's determination."""
    from jikimi.cases import services as cases
    from jikimi.incidents import determinations
    from jikimi.incidents import services as incidents

    example = people_demo.find_example(worker)
    ssd = [{"perpetrator": "state_security_department", "involvement": "ordered"}]
    with transaction.atomic():
        if example:
            incidents.record_event(
                worker,
                title="어머니를 통한 귀환 압박 전화 (a call from her mother, urging her home)",
                date="2025-03",
                place="혜산시",
                acts=[{"act_type": "coerced_family_contact", "victim": example}],
                involvements=ssd,
                information=[
                    {
                        "source": "family_report",
                        "source_reliability": "B",
                        "information_credibility": "2",
                    }
                ],
            )
        arrest = incidents.record_event(
            worker,
            title="투먼 기차역 부근 체포 (arrest near Tumen station)",
            date="2025-09-14",
            place="Tumen",
            acts=[
                {
                    "act_type": "arrest",
                    "victim": {
                        "name": "Pak Song-mi",
                        "name_hangul": "박성미",
                        "birth_date": "1994",
                        "sex": "F",
                        "province": "함경북도",
                    },
                }
            ],
            involvements=[
                {"perpetrator": "chinese_public_security_bureau", "involvement": "carried_out"}
            ],
            information=[
                {"source": "ngo_list", "source_reliability": "B", "information_credibility": "2"}
            ],
        )
        broadcast = incidents.record_event(
            worker,
            title="조선중앙TV 귀환자 기자회견 (a returnee on North Korean television)",
            date="2024-11",
            date_approx=True,
            place="평양",
            acts=[
                {
                    "act_type": "nk_media_appearance",
                    "victim": {
                        "name": "Ri Chol-ho",
                        "name_hangul": "리철호",
                        "birth_date": "1979",
                        "sex": "M",
                        "province": "량강도",
                    },
                }
            ],
            involvements=ssd,
            information=[
                {"source": "nk_media", "source_reliability": "C", "information_credibility": "3"}
            ],
        )
    detained = incidents.event_detail(worker, arrest).acts[0].victim
    assert detained is not None  # the organisation's own event: no victim is hidden
    case = cases.open_case(
        worker,
        detained,
        kind="detained",
        status="detained",
        source_ref=f"incident {arrest.code}",
        reason="NGO 명단에서 구금 확인 (detention seen in an NGO list)",
    )
    cases.log_family_contact(
        worker,
        case.code,
        how="phone",
        what_was_told="구금 사실을 확인했고 외교부에 문의했다고 알림 "
        "(told of the detention and the request to the Ministry of Foreign Affairs)",
        can_be_told="확인 중입니다 (we are checking)",
    )
    shown = incidents.event_detail(worker, broadcast).acts[0].victim
    assert shown is not None
    returnee = determinations.get_returnee(worker, shown)
    determinations.record_determination(
        worker,
        returnee,
        determination="undetermined",
        confidence="low",
        rationale="북한 매체 보도만 있음; 가족 제보 없음 (only the broadcast; no family report)",
    )
    return 3 if example else 2


def _subjects(worker: User, count: int) -> list[Person]:
    """The example person first, then the case worker's other people (newest first) who have
    no source list behind them: made up by the seed, as a case worker's own files are."""
    found: list[Person] = []
    code = people_demo.find_example(worker)
    if code:
        found.append(people.get_person(worker, code))
    rows, _total = people.list_people(worker, limit=400)
    for row in rows:
        if len(found) >= count:
            break
        person = people.get_person(worker, row.code)
        if person.pk in {p.pk for p in found} or person.source_records.exists():
            continue
        found.append(person)
    return found


def _enrol(worker: User, person: Person, *, pins_at: datetime | None, **options) -> Enrolment:
    """Enrol with consent (recorded first when missing) and, with `pins_at`, the person's
    PINs set at that moment through the set-up link, as the person would."""
    if not people.has_consent(person, ConsentPurpose.CHECKINS):
        people.record_consent(
            worker, person, purpose=ConsentPurpose.CHECKINS, granted=True, method="written"
        )
    if not options.get("weekly_slots"):
        options.setdefault("interval_hours", 24)
    result = checkins.enrol(worker, person, now=pins_at or timezone.now(), **options)
    if pins_at is not None:
        checkins.set_pins(result.setup_token, PIN, DURESS_PIN, now=pins_at)
    return Enrolment.objects.get(pk=result.enrolment.pk)


def _alert_of(enrolment: Enrolment, kind: str):
    return next(
        a
        for a in alerts.alerts_for_subject(checkins.SOURCE_APP, str(enrolment.pk))
        if a.kind == kind
    )


def seed_checkins(worker: User, supervisor: User, now: datetime | None = None) -> int:
    """One enrolment per state, then the monitor's pass at `now` raises what is owed."""
    now = now or timezone.now()
    hours = lambda n: now - timedelta(hours=n)  # noqa: E731 - reads as "n hours ago"
    subjects = _subjects(worker, 8)
    if len(subjects) < 8:
        raise ValueError("the demo needs at least 8 people of the case worker's own")
    example, paused, missed, duress, closed, wrong, drill, setup = subjects
    with transaction.atomic():
        # Missed a day and a half ago; a case worker acknowledged it and a supervisor closed
        # it with the reason, after the monitor's pass of that time had raised it.
        closed_enrolment = _enrol(worker, closed, pins_at=hours(60))
        monitor.run_pass(hours(34))
        missed_alert = _alert_of(closed_enrolment, "missed")
        alerts.acknowledge(worker, missed_alert, now=hours(33))
        alerts.close(supervisor, missed_alert, reason=CLOSE_REASON, now=hours(32))
        for ago in (31, 8):  # and she has checked in since
            checkins.record_checkin(closed_enrolment, PIN, channel="web", now=hours(ago))
        # Active: PINs three days ago, a check-in every day since.
        active = _enrol(worker, example, pins_at=hours(72), grace_minutes=120)
        for ago in (49, 26, 3):
            checkins.record_checkin(active, PIN, channel="web", now=hours(ago))
        # Paused by staff for a hospital stay (weekly slots: Mondays and Thursdays at 10:00).
        e = _enrol(worker, paused, pins_at=hours(30), weekly_slots=[[0, "10:00"], [3, "10:00"]])
        checkins.record_checkin(e, PIN, channel="web", now=hours(20))
        checkins.pause(worker, e, until=now + timedelta(days=14), reason=PAUSE_REASON, now=now)
        # Missed: due three hours ago, grace one hour; nobody has acknowledged it yet.
        _enrol(worker, missed, pins_at=hours(27))
        # Duress: a check-in with the duress PIN twenty minutes ago.
        e = _enrol(worker, duress, pins_at=hours(8), interval_hours=12)
        checkins.record_checkin(e, DURESS_PIN, channel="web", now=now - timedelta(minutes=20))
        # Three wrong PINs in a row (an alert), acknowledged by the case worker (below).
        wrong_enrolment = _enrol(worker, wrong, pins_at=hours(6))
        for minutes in (45, 44, 42):
            checkins.record_checkin(
                wrong_enrolment, "1111", channel="web", now=now - timedelta(minutes=minutes)
            )
        # A drill: the person practises the duress PIN; staff see DRILL.
        e = _enrol(worker, drill, pins_at=hours(2), is_drill=True)
        checkins.record_checkin(e, DURESS_PIN, channel="web", now=now - timedelta(minutes=5))
        # Enrolled today; the person has not opened the set-up link yet.
        _enrol(worker, setup, pins_at=None, channels=["web", "sms"], phone="010-2026-0707")
        # The monitor's passes, a minute after each event as the running monitor would have
        # made them: the missed check-in (grace over two hours ago), the wrong PINs, the
        # duress PIN, the drill, and one now.
        for minutes in (119, 41, 19, 4, 0):
            monitor.run_pass(now - timedelta(minutes=minutes))
        alerts.acknowledge(
            worker, _alert_of(wrong_enrolment, "wrong_pins"), now=now - timedelta(minutes=35)
        )
    return len(subjects)

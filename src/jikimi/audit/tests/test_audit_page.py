"""The audit page's pages and filters: where pages begin and end, what each filter keeps, and
a refused filter value named by its field's label in the reader's language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from jikimi.audit import services as audit
from jikimi.audit.models import AuditEvent

URL = "/audit/"


def ids_on(body: str) -> list[int]:
    """The event numbers in the table, top to bottom."""
    return [int(n) for n in re.findall(r'<tr>\s*<td class="num">(\d+)</td>', body)]


def codes_on(body: str) -> set[str]:
    return set(re.findall(r'class="code action-code">([a-z_.]+)<', body))


def org_ids(org_id: int) -> list[int]:
    """The ids an organisation's auditor may read, newest first."""
    return list(
        AuditEvent.objects.filter(organisation_id=org_id)
        .order_by("-id")
        .values_list("id", flat=True)
    )


@pytest.fixture
def many(staff):
    """120 events of alpha's case worker, a few of the system's, and 30 of beta's."""
    worker = staff["caseworker"]
    for n in range(120):
        audit.record("person.read", actor=worker, object_type="person", object_ref=f"{n}")
    for _ in range(3):
        audit.record("test.unlabelled", organisation_id=worker.organisation_id)
    for _ in range(30):
        audit.record("person.read", actor=staff["outsider"], object_type="person", object_ref="1")
    return worker


# --- Pages ----------------------------------------------------------------------------------


def test_the_pages_cover_the_log_newest_first_without_gap_or_overlap(staff, many):
    auditor = staff["auditor"]
    expected = org_ids(auditor.organisation_id)
    assert len(expected) > 2 * audit.PER_PAGE
    flt = audit.EventFilter()
    seen = []
    first = audit.event_page(auditor, flt, 1)
    assert (first.number, first.has_previous, first.has_next) == (1, False, True)
    assert first.pages == -(-len(expected) // audit.PER_PAGE) == 3 and not first.more
    for n in range(1, first.pages + 1):
        seen += [e.id for e in audit.event_page(auditor, flt, n).events]
    assert seen == expected
    last = audit.event_page(auditor, flt, 3)
    assert (last.has_previous, last.has_next) == (True, False)
    assert len(last.events) == len(expected) - 2 * audit.PER_PAGE
    # Beyond the last page: the last page; below the first: the first.
    assert audit.event_page(auditor, flt, 99).number == 3
    assert audit.event_page(auditor, flt, 0).number == 1


def test_an_exact_page_ends_without_an_empty_next_page(staff, many):
    auditor = staff["auditor"]
    per_page = len(org_ids(auditor.organisation_id)) // 2
    extra = len(org_ids(auditor.organisation_id)) - 2 * per_page
    page = audit.event_page(auditor, audit.EventFilter(), 2, per_page=per_page + extra)
    assert page.pages == 2 and not page.has_next
    page = audit.event_page(auditor, audit.EventFilter(), 1, per_page=per_page + extra)
    assert page.has_next


def test_the_count_stops_at_the_cap_and_the_pager_says_more(staff, many, monkeypatch):
    monkeypatch.setattr(audit, "COUNT_CAP", 60)
    page = audit.event_page(staff["auditor"], audit.EventFilter(), 2)
    assert page.more and page.total == 60 and page.pages == 2 and page.has_next
    # Past the counted pages the next page is still there as long as rows are.
    page = audit.event_page(staff["auditor"], audit.EventFilter(), 3)
    assert page.number == 3 and page.events and not page.has_next


def test_the_page_shows_page_n_of_m_with_links_that_keep_the_filters(client, staff, login, many):
    login(client, staff["auditor"])
    body = client.get(URL, {"action": "person.read", "page": "2"}).content.decode()
    assert "3쪽 중 2쪽" in body
    assert 'href="?action=person.read&amp;page=1"' in body
    assert 'href="?action=person.read&amp;page=3"' in body
    assert codes_on(body) == {"person.read"}
    assert len(ids_on(body)) == audit.PER_PAGE
    body = client.get(URL, {"page": "nonsense"}).content.decode()
    assert 'rel="prev"' not in body and 'rel="next"' in body


def test_the_page_stays_fast_with_thousands_of_rows(client, staff, login, many):
    """Several thousand rows: the first and a deep page each answer well under a second."""
    import time

    worker = staff["caseworker"]
    for n in range(3000):
        audit.record("person.read", actor=worker, object_type="person", object_ref=f"{n}")
    login(client, staff["auditor"])
    for query in ({}, {"page": "60"}, {"actor": str(worker.pk), "page": "30"}):
        start = time.perf_counter()
        response = client.get(URL, query)
        assert response.status_code == 200
        assert time.perf_counter() - start < 1.0, query


# --- Filters --------------------------------------------------------------------------------


def test_it_filters_by_actor_and_by_the_system(client, staff, login, many):
    audit.record("person.read", actor=staff["supervisor"], object_type="person", object_ref="7")
    login(client, staff["auditor"])
    body = client.get(URL, {"actor": str(staff["supervisor"].pk)}).content.decode()
    assert len(ids_on(body)) == 1 and "supervisor-a" in body
    body = client.get(URL, {"actor": "system"}).content.decode()
    shown = ids_on(body)
    assert shown and not AuditEvent.objects.filter(pk__in=shown, actor_id__isnull=False).exists()
    # A code with no label yet is shown as it is.
    assert body.count('<span class="code">test.unlabelled</span>') == 3


def test_it_filters_by_an_action_or_a_group_of_actions(client, staff, login, many):
    audit.record("login.ok", actor=staff["caseworker"])
    audit.record("login.failed", organisation_id=staff["caseworker"].organisation_id)
    login(client, staff["auditor"])
    body = client.get(URL, {"action": "login.ok"}).content.decode()
    assert codes_on(body) == {"login.ok"}
    body = client.get(URL, {"action": "login."}).content.decode()
    assert codes_on(body) == {"login.ok", "login.failed"}


def test_it_filters_by_person_code(client, staff, login, many):
    login(client, staff["auditor"])
    body = client.get(URL, {"ref": "17"}).content.decode()
    assert len(ids_on(body)) == 1


def test_it_filters_by_days_in_the_organisations_time_zone(client, staff, login, many):
    today = timezone.localdate()
    ids = org_ids(staff["auditor"].organisation_id)
    old, older = ids[-1], ids[-2]
    noon = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=10), dt.time(12)))
    AuditEvent.objects.filter(pk=old).update(at=noon)
    AuditEvent.objects.filter(pk=older).update(at=noon - dt.timedelta(days=1))
    login(client, staff["auditor"])
    day = (today - dt.timedelta(days=10)).isoformat()
    body = client.get(URL, {"date_from": day, "date_to": day}).content.decode()
    assert ids_on(body) == [old]
    body = client.get(URL, {"date_to": day}).content.decode()
    assert ids_on(body) == sorted([old, older], reverse=True)
    body = client.get(URL, {"date_from": today.isoformat(), "actor": "system"}).content.decode()
    assert old not in ids_on(body) and len(ids_on(body)) >= 3


def test_a_filter_that_matches_nothing_says_so(client, staff, login, many):
    login(client, staff["auditor"])
    body = client.get(URL, {"action": "backup.restore"}).content.decode()
    assert ids_on(body) == [] and "empty-state" in body


@pytest.mark.parametrize(
    ("query", "field", "ko", "en"),
    [
        ({"date_from": "2026-13-45"}, "date_from", "시작일: ", "From: enter a date"),
        ({"date_to": "yesterday"}, "date_to", "종료일: ", "To: enter a date"),
        (
            {"date_from": "2026-12-02", "date_to": "2026-12-01"},
            "date_to",
            "종료일: ",
            "To: the last day cannot be before",
        ),
        ({"actor": "999999"}, "actor", "사용자: ", "Who: choose a staff member"),
        ({"action": "person.delete_all"}, "action", "작업: ", "Action: choose an action"),
        ({"ref": "최명호"}, "ref", "대상자 코드 또는 대상: ", "Person code or object: enter"),
    ],
)
def test_a_bad_filter_value_is_refused_by_its_label_and_filters_nothing(
    client, staff, login, many, query, field, ko, en
):
    login(client, staff["auditor"])
    unfiltered = ids_on(client.get(URL).content.decode())
    # With a good filter beside the bad one: neither is applied.
    response = client.get(URL, {**query, "actor": "system"} if field != "actor" else query)
    body = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in body and ko in body
    # The list is the whole log (one audit.view newer, the previous request's own).
    assert ids_on(body)[1:] == unfiltered[: len(ids_on(body)) - 1]
    client.cookies["django_language"] = "en"
    body = client.get(URL, query).content.decode()
    assert en in body


def test_another_organisations_staff_member_is_no_filter_choice(client, staff, login, many):
    login(client, staff["auditor"])
    body = client.get(URL, {"actor": str(staff["outsider"].pk)}).content.decode()
    assert 'id="id_actor-error"' in body
    assert "caseworker-b" not in body
    assert all(
        AuditEvent.objects.get(pk=i).organisation_id == staff["auditor"].organisation_id
        for i in ids_on(body)
    )


def test_the_service_refuses_other_roles(staff):
    from jikimi.core.errors import AccessDenied

    for role in ("caseworker", "supervisor", "analyst"):
        with pytest.raises(AccessDenied):
            audit.event_page(staff[role], audit.EventFilter())

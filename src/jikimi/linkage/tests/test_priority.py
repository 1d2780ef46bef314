"""The review queue puts first the pairs with a person who is missing or detained or has an
open check-in alert — in SQL, so paging stays right — and the page marks them."""

from __future__ import annotations

import pytest

from jikimi.linkage import services
from jikimi.linkage.models import ReviewItem, ReviewStatus
from jikimi.linkage.tests.test_review import linked, make_person, open_checkin_alert, pair_of

__all__ = ["linked"]

pytestmark = pytest.mark.django_db


_alert = open_checkin_alert


@pytest.fixture
def three_pairs(staff, orgs, linked):
    """Three pending pairs, as linkage queues them (synthetic people):
    `plain` scores highest and is all active; `missing` and `alert` score lower (sex unknown
    on one side) and have a missing person / a person with an open check-in alert."""
    cw = staff["caseworker"]
    lee = make_person(linked, cw, "이지현", birth_year=1990, sex="F")
    ri = make_person(linked, cw, "Ri Ji Hyon", birth_year=1990, sex="F")
    park = make_person(linked, cw, "박성철", birth_year=1975, sex="M", status="missing")
    pak = make_person(linked, cw, "Pak Song Chol", birth_year=1975)
    choe = make_person(linked, cw, "최민수", birth_year=1962, sex="M")
    choe2 = make_person(linked, cw, "Choe Min Su", birth_year=1962)
    _alert(choe, orgs[0], cw, key="missed:priority-test")
    # Alerts that do not count: closed, or a drill.
    _alert(lee, orgs[0], cw, key="missed:closed", state="closed")
    _alert(ri, orgs[0], cw, key="missed:drill", is_drill=True)
    pairs = {
        name: ReviewItem.objects.get(**pair_of(a, b), status=ReviewStatus.PENDING)
        for name, (a, b) in {
            "plain": (lee, ri),
            "missing": (park, pak),
            "alert": (choe, choe2),
        }.items()
    }
    # The point of the test: the urgent pairs score lower than the plain one.
    assert pairs["missing"].score < pairs["plain"].score
    assert pairs["alert"].score < pairs["plain"].score
    return pairs


def test_urgent_pairs_come_first_even_with_a_lower_score(three_pairs, staff):
    cw = staff["caseworker"]
    items, total = services.review_queue(cw)
    assert total == 3
    assert [i.pk for i in items][2] == three_pairs["plain"].pk
    assert {i.pk for i in items[:2]} == {three_pairs["missing"].pk, three_pairs["alert"].pk}
    flags = {i.pk: (i.urgent, i.a_alert or i.b_alert) for i in items}
    assert flags[three_pairs["missing"].pk] == (1, False)
    assert flags[three_pairs["alert"].pk] == (1, True)
    assert flags[three_pairs["plain"].pk] == (0, False)
    # Paging follows the same order (it is the database's).
    pages = [services.review_queue(cw, offset=n, limit=1)[0] for n in range(3)]
    assert [p[0].pk for p in pages] == [i.pk for i in items]


def test_a_pair_leaves_the_front_when_the_person_is_found(three_pairs, staff):
    from jikimi.alerts.models import Alert

    three_pairs["missing"].person_a.__class__.objects.filter(
        pk__in=[three_pairs["missing"].person_a_id, three_pairs["missing"].person_b_id]
    ).update(status="active")
    Alert.objects.filter(key="missed:priority-test").update(state="closed")
    items, _ = services.review_queue(staff["caseworker"])
    assert [i.pk for i in items][0] == three_pairs["plain"].pk  # by score again
    assert not any(i.urgent for i in items)


def test_the_page_marks_urgent_pairs(three_pairs, staff, client, login):
    cw = staff["caseworker"]
    page = login(client, cw).get("/linkage/review/", HTTP_ACCEPT_LANGUAGE="ko")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="urgent"') == 2 and html.count("먼저 결정") == 2
    assert "처리되지 않은 안부 확인 알림" in html and "실종" in html
    plain = three_pairs["plain"]
    assert html.index(three_pairs["missing"].person_a.code) < html.index(plain.person_a.code)
    assert html.index(three_pairs["alert"].person_a.code) < html.index(plain.person_a.code)


def test_the_api_lists_urgent_pairs_first(three_pairs, staff, api_client, api_token):
    client = api_client
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    body = client.get("/api/linkage/review/").json()
    assert [r["urgent"] for r in body["results"]] == [True, True, False]
    assert body["results"][2]["id"] == str(three_pairs["plain"].pk)

"""The linkage pages (/linkage/…) and the review-queue API (/api/linkage/…)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.linkage.models import PersonLink, ReviewItem, ReviewStatus
from jikimi.linkage.tests.test_review import (
    assert_no_names_in_audit,
    linked,
    make_person,
    pair_of,
)

__all__ = ["linked"]  # the fixture, imported for these tests


@pytest.fixture
def item(staff, linked):
    cw = staff["caseworker"]
    lee = make_person(linked, cw, "이지현", birth_year=1990, sex="F")
    ri = make_person(linked, cw, "Ri Ji Hyon", birth_year=1990, sex="F")
    return ReviewItem.objects.get(**pair_of(lee, ri))


def test_it_lists_pending_pairs_with_names_for_case_workers(client, login, staff, item):
    login(client, staff["caseworker"])
    body = client.get(reverse("linkage:review")).content.decode()
    assert item.person_a.code in body and item.person_b.code in body
    assert "이지현" in body and "Ri Ji Hyon" in body
    assert reverse("linkage:review_detail", args=[item.pk]) in body


def test_it_shows_analysts_codes_but_no_names(client, login, staff, item):
    login(client, staff["analyst"])
    for url in (reverse("linkage:review"), reverse("linkage:review_detail", args=[item.pk])):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert item.person_a.code in body
        assert "이지현" not in body and "Ri Ji Hyon" not in body
    assert "review_confirm" not in body and "/confirm" not in body


def test_it_refuses_the_queue_to_auditors(client, login, staff, item):
    login(client, staff["auditor"])
    assert client.get(reverse("linkage:review")).status_code == 403


def test_it_shows_a_pair_side_by_side(client, login, staff, item):
    login(client, staff["caseworker"])
    body = client.get(reverse("linkage:review_detail", args=[item.pk])).content.decode()
    assert "이지현" in body and "Ri Ji Hyon" in body
    assert "I Ji Hyeon" in body  # the Hangul name's Revised Romanization
    assert 'class="level-keys_intersect"' in body and 'class="level-year"' in body
    assert reverse("linkage:review_confirm", args=[item.pk]) in body


def test_it_confirms_and_rejects_from_the_page(client, login, staff, item, linked):
    login(client, staff["caseworker"])
    response = client.post(reverse("linkage:review_confirm", args=[item.pk]), {"reason": ""})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == ReviewStatus.CONFIRMED
    assert PersonLink.objects.filter(**pair_of(item.person_a, item.person_b)).exists()
    again = client.post(reverse("linkage:review_reject", args=[item.pk]))
    assert again.status_code == 400  # already decided
    other = make_person(linked, staff["caseworker"], "Lee Ji-hyun", birth_year=1990, sex="F")
    pending = ReviewItem.objects.filter(status=ReviewStatus.PENDING).filter(
        person_a=other
    ) | ReviewItem.objects.filter(status=ReviewStatus.PENDING, person_b=other)
    assert pending.exists()
    first = pending.first()
    response = client.post(reverse("linkage:review_reject", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == ReviewStatus.REJECTED
    assert_no_names_in_audit()


def test_it_shows_the_cluster_and_unlinks_with_a_reason(client, login, staff, item):
    from jikimi.linkage import services

    cw = staff["caseworker"]
    link = services.confirm(cw, item)
    login(client, cw)
    url = reverse("linkage:cluster", args=[item.person_a.code])
    body = client.get(url).content.decode()
    assert item.person_b.code in body and reverse("linkage:unlink", args=[link.pk]) in body
    unlink_url = reverse("linkage:unlink", args=[link.pk])
    missing_reason = client.post(unlink_url, {"reason": "", "from": item.person_a.code})
    assert missing_reason.status_code == 400
    response = client.post(unlink_url, {"reason": "부모 이름이 다름", "from": item.person_a.code})
    assert response.status_code == 302 and response["Location"] == url
    link.refresh_from_db()
    assert link.unlinked_at is not None
    assert AuditEvent.objects.filter(action="linkage.unlink").count() == 1
    assert item.person_b.code not in client.get(url).content.decode().split("<main")[1]


def test_it_answers_404_to_another_organisation(client, login, staff, item):
    from jikimi.linkage import services

    link = services.confirm(staff["caseworker"], item)
    login(client, staff["outsider"])
    assert item.person_a.code not in client.get(reverse("linkage:review")).content.decode()
    assert client.get(reverse("linkage:review_detail", args=[item.pk])).status_code == 404
    assert client.post(reverse("linkage:review_reject", args=[item.pk])).status_code == 404
    assert client.get(reverse("linkage:cluster", args=[item.person_a.code])).status_code == 404
    response = client.post(reverse("linkage:unlink", args=[link.pk]), {"reason": "x"})
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.unlinked_at is None


# --- API ------------------------------------------------------------------------------------


def _api(api_client, api_token, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return api_client


def test_it_lists_confirms_and_unlinks_through_the_api(api_client, api_token, staff, item):
    api = _api(api_client, api_token, staff["caseworker"])
    listing = api.get("/api/linkage/review/").json()
    assert listing["count"] == 1
    row = listing["results"][0]
    assert row["id"] == str(item.pk) and row["levels"]["given_name"] == "keys_intersect"
    assert "이지현" not in str(listing)
    response = api.post(f"/api/linkage/review/{item.pk}/confirm/", {"reason": "확인"})
    assert response.status_code == 201, response.content
    link_id = response.json()["id"]
    assert {response.json()["person_a"], response.json()["person_b"]} == {
        item.person_a.code,
        item.person_b.code,
    }
    assert api.post(f"/api/linkage/links/{link_id}/unlink/", {}).status_code == 400
    response = api.post(f"/api/linkage/links/{link_id}/unlink/", {"reason": "틀림"})
    assert response.status_code == 200 and response.json()["unlinked_at"]
    assert api.get("/api/linkage/review/").json()["count"] == 0


def test_it_rejects_through_the_api(api_client, api_token, staff, item):
    api = _api(api_client, api_token, staff["caseworker"])
    response = api.post(f"/api/linkage/review/{item.pk}/reject/")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert api.post(f"/api/linkage/review/{item.pk}/reject/").status_code == 400


def test_it_answers_404_through_the_api_to_another_organisation(api_client, api_token, staff, item):
    from jikimi.linkage import services

    link = services.confirm(staff["caseworker"], item)
    item2 = item  # decided, but the outsider must not even learn that
    api = _api(api_client, api_token, staff["outsider"])
    assert api.get("/api/linkage/review/").json()["count"] == 0
    assert api.post(f"/api/linkage/review/{item2.pk}/confirm/", {}).status_code == 404
    assert api.post(f"/api/linkage/review/{item2.pk}/reject/").status_code == 404
    response = api.post(f"/api/linkage/links/{link.pk}/unlink/", {"reason": "x"})
    assert response.status_code == 404


def test_it_forbids_analysts_to_decide_through_the_api(api_client, api_token, staff, item):
    api = _api(api_client, api_token, staff["analyst"])
    assert api.get("/api/linkage/review/").json()["count"] == 1
    assert api.post(f"/api/linkage/review/{item.pk}/confirm/", {}).status_code == 403


@pytest.mark.parametrize(
    "language, written", [("ko", "%Y. %-m. %-d. %H:%M"), ("en", "%-d %b %Y, %H:%M")]
)
def test_the_cluster_writes_when_a_link_was_made_on_a_24_hour_clock(
    client, login, staff, item, language, written
):
    from django.utils import timezone

    from jikimi.linkage import services

    link = services.confirm(staff["caseworker"], item)
    login(client, staff["caseworker"])
    client.cookies["django_language"] = language
    body = client.get(reverse("linkage:cluster", args=[item.person_a.code])).content.decode()
    local = timezone.localtime(link.created_at)
    assert f'<time datetime="{local.isoformat()}">{local.strftime(written)}</time>' in body
    assert "오전" not in body and "오후" not in body and "a.m." not in body

"""The escalation policy by kind of case (issue #15): supervisors and admins see each kind's
policy and change it on a page linked from the overview and through the API, with the
password asked again (DESIGN §3); a case worker is refused (403), a bad choice is a field
error and changes nothing, every change is audited."""

from __future__ import annotations

import pytest

from jikimi.alerts import services as alerts
from jikimi.audit.models import AuditEvent
from jikimi.cases.models import KindPolicy
from jikimi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/cases/policies"


def _policy(user, name="구금: 1시간 후 관리자"):
    return alerts.create_policy(
        user,
        name=name,
        steps=[
            {"after_minutes": 0, "to": "caseworker"},
            {"after_minutes": 60, "to": "supervisors"},
        ],
        repeat_minutes=60,
    )


def _changes():
    return AuditEvent.objects.filter(action="case.kind_policy")


def test_a_case_worker_can_neither_see_nor_change_the_kind_policies(client, login, staff):
    policy = _policy(staff["supervisor"])
    login(client, staff["caseworker"])
    assert client.get(URL).status_code == 403
    answer = client.post(URL, {"policy_detained": policy.pk, "password": PASSWORD})
    assert answer.status_code == 403
    assert not KindPolicy.objects.exists() and not _changes().exists()
    # Nor does the overview (supervisors') link to it for them.
    assert "/cases/policies" not in client.get("/cases/").content.decode()


def test_a_supervisor_changes_a_kinds_policy_with_the_password_and_it_is_audited(
    client, login, staff
):
    sup = staff["supervisor"]
    policy = _policy(sup)
    login(client, sup)
    assert URL in client.get("/cases/overview").content.decode()
    page = client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "사례 종류별 단계별 알림 정책" in html and "구금" in html and "없음(표준 단계)" in html
    assert 'name="password"' in html  # not re-authenticated yet: the form asks
    # Without the password: refused at the password field, nothing written.
    refused = client.post(URL, {"policy_detained": policy.pk})
    assert refused.status_code == 400
    assert "비밀번호를 다시 입력하세요" in refused.content.decode()
    assert not KindPolicy.objects.exists() and not _changes().exists()
    saved = client.post(URL, {"policy_detained": policy.pk, "password": PASSWORD}, follow=True)
    assert saved.status_code == 200 and "단계별 알림 정책을 저장했습니다" in saved.content.decode()
    row = KindPolicy.objects.get()
    assert (row.organisation_id, row.kind, row.policy_id) == (sup.org_id, "detained", policy.pk)
    event = _changes().get()
    assert event.actor_id == sup.pk and event.organisation_id == sup.org_id
    assert event.detail == {"kind": "detained", "policy": policy.pk, "previous": None}
    # Re-authenticated now: the page shows the choice and asks no password for a while.
    html = client.get(URL).content.decode()
    assert f'<option value="{policy.pk}" selected>' in html and 'name="password"' not in html
    # Back to the standard ladder: removed, audited with what it was.
    client.post(URL, {"policy_detained": ""})
    assert not KindPolicy.objects.exists()
    assert _changes().latest("id").detail == {
        "kind": "detained",
        "policy": None,
        "previous": policy.pk,
    }


def test_a_bad_choice_is_a_field_error_and_changes_nothing(client, login, staff):
    sup = staff["supervisor"]
    mine = _policy(sup)
    theirs = alerts.default_policy(staff["outsider"].organisation)
    login(client, sup)
    for bad in ("999999", "abc", str(theirs.pk)):
        answer = client.post(
            URL, {"policy_missing": mine.pk, "policy_detained": bad, "password": PASSWORD}
        )
        html = answer.content.decode()
        assert answer.status_code == 400, bad
        assert 'id="err_policy_detained"' in html
        assert "우리 기관의 단계별 알림 정책을 선택하세요" in html
        assert 'aria-invalid="true" aria-describedby="err_policy_detained"' in html
        assert "아무것도 저장하지 않았습니다" in html
        # All or nothing: the good choice beside it is not saved either.
        assert not KindPolicy.objects.exists() and not _changes().exists()


def test_the_api_lists_and_sets_a_kinds_policy(api, staff):
    sup = staff["supervisor"]
    policy = _policy(sup)
    listed = api("supervisor").get("/api/cases/kind-policies/")
    assert listed.status_code == 200
    assert {r["kind"] for r in listed.json()} >= {"detained", "missing"}
    assert all(r["policy"] is None for r in listed.json())
    url = "/api/cases/kind-policies/detained/"
    assert api("supervisor").put(url, {"policy": policy.pk}, format="json").status_code == 403
    bad = api("supervisor").put(url, {"policy": 999999, "password": PASSWORD}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"policy"}
    wrong = api("supervisor").put(url, {"policy": "abc", "password": PASSWORD}, format="json")
    assert wrong.status_code == 400 and "policy" in wrong.json()
    assert not KindPolicy.objects.exists() and not _changes().exists()
    unknown = "/api/cases/kind-policies/nonsense/"
    body = {"policy": policy.pk, "password": PASSWORD}
    assert api("supervisor").put(unknown, body, format="json").status_code == 404
    done = api("supervisor").put(url, body, format="json")
    assert done.status_code == 200
    assert done.json()["policy"] == policy.pk and done.json()["kind"] == "detained"
    assert KindPolicy.objects.get().policy_id == policy.pk
    assert _changes().count() == 1


def test_the_api_refuses_a_case_worker(api, staff):
    policy = _policy(staff["supervisor"])
    assert api("caseworker").get("/api/cases/kind-policies/").status_code == 403
    body = {"policy": policy.pk, "password": PASSWORD}
    put = api("caseworker").put("/api/cases/kind-policies/detained/", body, format="json")
    assert put.status_code == 403
    assert not KindPolicy.objects.exists() and not _changes().exists()

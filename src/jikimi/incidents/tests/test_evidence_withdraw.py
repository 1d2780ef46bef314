"""Withdrawing evidence (e.g. the source withdrew consent): the stored file and its key are
destroyed, the row stays as a tombstone with the reason, the custody log says "withdraw",
re-authenticated and audited; `jikimi evidence verify` skips withdrawn files and exits 0.
Real encrypted store in a temporary JIKIMI_HOME, real database, pages and API."""

from __future__ import annotations

import io

import pytest

from jikimi.accounts.services import ReauthRequired
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.core import filestore
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound
from jikimi.incidents import evidence
from jikimi.incidents.models import Evidence

from .test_evidence import _actions, _ko, _store_files, english, event, home  # noqa: F401

pytestmark = pytest.mark.django_db


def _attach(staff, event, data: bytes = b"w" * 5000, name: str = "consent.pdf") -> Evidence:  # noqa: F811
    return evidence.attach(staff["caseworker"], event.code, io.BytesIO(data), file_name=name)


def test_withdraw_destroys_file_and_key_and_keeps_a_tombstone(
    staff,
    event,  # noqa: F811
    home,  # noqa: F811
    cli,
    django_capture_on_commit_callbacks,
):
    cw = staff["caseworker"]
    kept = _attach(staff, event, b"k" * 1000, "kept.jpg")
    gone = _attach(staff, event)
    path = filestore.path_of(gone.file_id)
    assert path.exists() and len(_store_files(home)) == 2

    with pytest.raises(ReauthRequired):
        evidence.withdraw(cw, event.code, gone.pk, reason="consent", reauthenticated=False)
    with pytest.raises(InvalidInput) as no_reason:
        evidence.withdraw(cw, event.code, gone.pk, reason="  ", reauthenticated=True)
    assert "reason" in no_reason.value.messages()
    with pytest.raises(AccessDenied):
        evidence.withdraw(staff["analyst"], event.code, gone.pk, reason="x", reauthenticated=True)
    with pytest.raises(NotFound):
        evidence.withdraw(staff["outsider"], event.code, gone.pk, reason="x", reauthenticated=True)
    assert path.exists() and _actions(gone) == ["upload"]

    with django_capture_on_commit_callbacks(execute=True):
        evidence.withdraw(
            cw, event.code, gone.pk, reason="source withdrew consent", reauthenticated=True
        )
    assert not path.exists()
    assert _store_files(home) == [filestore.path_of(kept.file_id)]
    row = Evidence.objects.get(pk=gone.pk)  # the tombstone
    assert row.withdrawn_at is not None and row.withdrawn_by == cw
    assert row.withdrawn_reason == "source withdrew consent"
    assert (row.key_id, row.wrapped_key) == ("", "")
    assert row.sha256 == gone.sha256 and row.size == 5000 and row.file_name == "consent.pdf"
    entry = row.custody.order_by("at", "id").last()
    assert entry.action == "withdraw" and entry.user == cw
    assert entry.reason == "source withdrew consent" and entry.detail == {"destroyed": True}
    audited = AuditEvent.objects.get(action="evidence.withdraw")
    assert audited.actor_id == cw.pk and audited.object_ref == str(gone.pk)
    assert "consent" not in str(audited.detail)  # the reason is not in the audit detail
    refused = AuditEvent.objects.filter(action="evidence.withdraw_refused")
    assert [e.detail["why"] for e in refused] == ["reauth"]

    # Nothing more can be done with its bytes; a second withdrawal is refused too.
    with pytest.raises(evidence.EvidenceWithdrawn):
        evidence.download(cw, event.code, gone.pk, reason="court", reauthenticated=True)
    with pytest.raises(evidence.EvidenceWithdrawn):
        evidence.verify_evidence(cw, event.code, gone.pk)
    with pytest.raises(evidence.EvidenceWithdrawn):
        evidence.withdraw(cw, event.code, gone.pk, reason="again", reauthenticated=True)
    _event, rows = evidence.list_evidence(cw, event.code)
    assert [(r.file_name, r.withdrawn) for r in rows] == [
        ("kept.jpg", False),
        ("consent.pdf", True),
    ]

    # verify skips it and still exits 0 (no failure, no orphan warning for it).
    run = cli("evidence", "verify")
    assert run.returncode == 0, run.stderr
    assert "1 evidence files verified" in run.stdout and str(gone.pk) not in run.stderr
    assert [label for label, _s in evidence.source_files()] == [
        f"incident evidence {event.code}/{kept.pk}"
    ]


def test_withdraw_page_asks_the_password_and_shows_the_tombstone(
    staff,
    event,  # noqa: F811
    client,
    login,
    django_capture_on_commit_callbacks,
):
    item = _attach(staff, event)
    base = f"/incidents/{event.code}/evidence/"
    url = f"{base}{item.pk}/withdraw"
    login(client, staff["analyst"])
    assert client.get(url).status_code == 403
    login(client, staff["outsider"])
    assert client.get(url).status_code == 404
    login(client, staff["caseworker"])
    assert url.encode() in client.get(base).content  # the button on the evidence list
    page = client.get(url)
    assert page.status_code == 200 and b'type="password"' in page.content
    wrong = client.post(url, {"password": "not it", "reason": "consent"})
    assert wrong.status_code == 400 and _ko("The password is not correct.") in wrong.content
    empty = client.post(url, {"password": PASSWORD, "reason": ""})
    assert empty.status_code == 400
    assert filestore.path_of(item.file_id).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"password": PASSWORD, "reason": "consent withdrawn"})
    assert done.status_code == 302
    assert not filestore.path_of(item.file_id).exists()
    listing = client.get(base)
    assert _ko("withdrawn") in listing.content and url.encode() not in listing.content
    assert f"{base}{item.pk}/download".encode() not in listing.content
    gone = client.get(f"{base}{item.pk}/download")
    assert gone.status_code == 410 and _ko("This file was withdrawn").split(b"%")[0] in gone.content
    assert client.get(url).status_code == 410
    custody = client.get(f"{base}{item.pk}/custody")
    assert b"consent withdrawn" in custody.content


def test_withdraw_api(
    staff,
    event,  # noqa: F811
    api_client,
    api_token,
    django_capture_on_commit_callbacks,
):
    item = _attach(staff, event)
    base = f"/api/incidents/events/{event.code}/evidence/{item.pk}/"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['outsider'])}")
    assert (
        api_client.post(f"{base}withdraw/", {"reason": "x", "password": PASSWORD}).status_code
        == 404
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    no_password = api_client.post(f"{base}withdraw/", {"reason": "x"}, format="json")
    assert no_password.status_code == 400 and "password" in no_password.json()
    wrong = api_client.post(f"{base}withdraw/", {"reason": "x", "password": "no"}, format="json")
    assert wrong.status_code == 403
    assert filestore.path_of(item.file_id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = api_client.post(
            f"{base}withdraw/", {"reason": "consent", "password": PASSWORD}, format="json"
        )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["withdrawn_at"] and body["withdrawn_reason"] == "consent"
    assert not filestore.path_of(item.file_id).exists()
    again = api_client.post(
        f"{base}withdraw/", {"reason": "consent", "password": PASSWORD}, format="json"
    )
    assert again.status_code == 410
    download = api_client.post(
        f"{base}download/", {"reason": "court", "password": PASSWORD}, format="json"
    )
    assert download.status_code == 410
    actions = [e["action"] for e in api_client.get(f"{base}custody/").json()]
    assert actions.count("withdraw") == 1 and "download" not in actions

"""Evidence attached to events and acts: the real encrypted store in a temporary JIKIMI_HOME,
the real database, real multipart uploads through the pages and the API."""

from __future__ import annotations

import io
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection

from jikimi.accounts.services import ReauthRequired
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.core import filestore
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound
from jikimi.incidents import evidence, services
from jikimi.incidents.models import CustodyEntry, Evidence
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def home(settings, tmp_path):
    settings.JIKIMI_HOME = tmp_path / "home"
    return settings.JIKIMI_HOME


@pytest.fixture
def event(staff, home):
    cw = staff["caseworker"]
    victim = people.create_person(cw, name="Kim Test", birth_year=1990, sex="F", province="양강도")
    return services.record_event(
        cw,
        title="Arrest after crossing",
        date="2017-07-15",
        place="Tumen",
        acts=[{"act_type": "arrest", "victim": victim.code}],
    )


def _ko(text: str) -> bytes:
    """A message as the pages show it (they are in Korean unless the request asks otherwise)."""
    from django.utils import translation

    with translation.override("ko"):
        return translation.gettext(text).encode()


def _marker() -> bytes:
    return b"JKMARK-" + secrets.token_hex(12).encode()


def _payload(marker: bytes, size: int = 300_000) -> bytes:
    """`size` bytes with the marker at the start, in the middle (across a chunk) and at the end."""
    filler = bytes(range(256)) * (size // 256 + 1)
    body = bytearray(filler[:size])
    for at in (0, size // 2, size - len(marker)):
        body[at : at + len(marker)] = marker
    return bytes(body)


def _store_files(home) -> list:
    root = home / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _actions(item: Evidence) -> list[str]:
    return list(item.custody.order_by("at", "id").values_list("action", flat=True))


# --- Services ----------------------------------------------------------------------------------


def test_attach_list_download_and_the_custody_log(staff, event):
    cw = staff["caseworker"]
    data = _payload(_marker())
    item = evidence.attach(
        cw,
        event.code,
        io.BytesIO(data),
        file_name="../../call record.m4a",
        media_type="audio/mp4",
        act=event.acts.get().pk,
        description="recorded by the family",
    )
    assert item.file_name == "call record.m4a" and item.media_type == "audio/mp4"
    assert item.size == len(data) and item.act_id == event.acts.get().pk
    import hashlib

    assert item.sha256 == hashlib.sha256(data).hexdigest()

    _event, rows = evidence.list_evidence(staff["supervisor"], event.code)
    assert [(r.file_name, r.size, r.uploaded_by) for r in rows] == [
        ("call record.m4a", len(data), "caseworker-a")
    ]

    with pytest.raises(ReauthRequired):
        evidence.download(cw, event.code, item.pk, reason="court", reauthenticated=False)
    with pytest.raises(InvalidInput) as bad:
        evidence.download(cw, event.code, item.pk, reason="  ", reauthenticated=True)
    assert set(bad.value.errors) == {"reason"}
    assert _actions(item) == ["upload", "view"]  # refusals are not downloads

    found, chunks = evidence.download(
        cw, event.code, item.pk, reason="for the UN submission", reauthenticated=True
    )
    assert b"".join(chunks) == data

    row, log = evidence.custody_log(staff["auditor"], event.code, item.pk)
    assert [e.action for e in log] == ["upload", "view", "download"]
    assert [e.user for e in log] == ["caseworker-a", "supervisor-a", "caseworker-a"]
    assert log[2].reason == "for the UN submission" and log[2].detail == {"ok": True}
    actions = set(
        AuditEvent.objects.filter(object_ref=str(item.pk)).values_list("action", flat=True)
    )
    assert {"evidence.upload", "evidence.view", "evidence.download"} <= actions
    assert "evidence.download_refused" in actions


def test_only_recorders_attach_and_a_foreign_act_is_refused(staff, event, home):
    with pytest.raises(AccessDenied):
        evidence.attach(staff["analyst"], event.code, io.BytesIO(b"x"), file_name="a.txt")
    with pytest.raises(InvalidInput) as bad:
        evidence.attach(
            staff["caseworker"], event.code, io.BytesIO(b"x"), file_name="a.txt", act="nope"
        )
    assert set(bad.value.errors) == {"act"}
    assert not Evidence.objects.exists() and not _store_files(home)


def test_pseudonymous_roles_see_no_name_and_download_nothing(staff, event, client, login):
    item = evidence.attach(
        staff["caseworker"], event.code, io.BytesIO(b"x"), file_name="Kim.jpg", description="d"
    )
    evidence.download(staff["caseworker"], event.code, item.pk, reason="why", reauthenticated=True)
    for role in ("analyst", "auditor"):
        _event, rows = evidence.list_evidence(staff[role], event.code)
        assert [(r.file_name, r.description, r.size) for r in rows] == [("", "", 1)]
        with pytest.raises(AccessDenied):
            evidence.download(staff[role], event.code, item.pk, reason="x", reauthenticated=True)
        _row, log = evidence.custody_log(staff[role], event.code, item.pk)
        assert log[1].reason == ("why" if role == "auditor" else "")
        login(client, staff[role])
        page = client.get(f"/incidents/{event.code}/evidence/")
        assert page.status_code == 200 and b"Kim.jpg" not in page.content
        assert b"/download" not in page.content
        assert client.get(f"/incidents/{event.code}/evidence/{item.pk}/download").status_code == 403
    assert list(item.custody.values_list("action", flat=True)).count("download") == 1


def test_another_organisation_sees_no_evidence(staff, event):
    item = evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"x"), file_name="a.txt")
    outsider = staff["outsider"]
    for call in (
        lambda: evidence.list_evidence(outsider, event.code),
        lambda: evidence.get_evidence(outsider, event.code, item.pk),
        lambda: evidence.custody_log(outsider, event.code, item.pk),
        lambda: evidence.download(outsider, event.code, item.pk, reason="x", reauthenticated=True),
        lambda: evidence.attach(outsider, event.code, io.BytesIO(b"y"), file_name="b.txt"),
    ):
        with pytest.raises(NotFound):
            call()
    assert Evidence.objects.count() == 1 and _actions(item) == ["upload"]


def test_an_upload_that_fails_half_way_leaves_no_file_and_no_row(staff, event, home):
    def broken():
        yield b"a" * 600_000
        raise OSError("the connection dropped")

    with pytest.raises(OSError, match="dropped"):
        evidence.attach(staff["caseworker"], event.code, broken(), file_name="video.mp4")
    assert not Evidence.objects.exists() and not CustodyEntry.objects.exists()
    assert _store_files(home) == []


def test_an_upload_over_the_limit_is_refused_with_nothing_stored(staff, event, home, settings):
    settings.JIKIMI_EVIDENCE_MAX_BYTES = 1000
    with pytest.raises(InvalidInput) as bad:
        evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"v" * 1001), file_name="v.mp4")
    assert "larger than the limit of 1000" in bad.value.messages()["file"]
    assert not Evidence.objects.exists() and _store_files(home) == []


def test_a_row_that_cannot_be_written_takes_its_stored_file_with_it(
    staff, event, home, monkeypatch
):
    def refuse(*args, **kwargs):
        raise RuntimeError("the database refused the row")

    monkeypatch.setattr(CustodyEntry.objects, "create", refuse)
    with pytest.raises(RuntimeError, match="refused the row"):
        evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"z" * 5000), file_name="z")
    assert not Evidence.objects.exists() and _store_files(home) == []


def test_the_bytes_name_and_description_are_nowhere_in_clear(staff, event, home, login, client):
    marker = _marker()
    name_marker, text_marker = _marker().decode(), _marker().decode()
    # Over Django's 2.5 MB memory limit: the upload must reach the store from a temporary file.
    data = _payload(marker, size=3 * 1024 * 1024)
    seen = []
    put = filestore.put
    monkey = pytest.MonkeyPatch()
    monkey.setattr(
        filestore, "put", lambda stream, **kw: seen.append(type(stream)) or put(stream, **kw)
    )
    try:
        login(client, staff["caseworker"])
        answer = client.post(
            f"/incidents/{event.code}/evidence/",
            {
                "file": SimpleUploadedFile(f"{name_marker}.mp4", data, "video/mp4"),
                "description": text_marker,
            },
        )
    finally:
        monkey.undo()
    assert answer.status_code == 302, answer.content[:500]
    assert seen == [TemporaryUploadedFile]
    item = Evidence.objects.get()
    assert item.size == len(data) and item.file_name == f"{name_marker}.mp4"

    files = [p for p in home.rglob("*") if p.is_file()]
    assert filestore.path_of(item.file_id) in files
    for path in files:
        blob = path.read_bytes()
        assert marker not in blob and name_marker.encode() not in blob, path
    # every column of every table, as text
    dumped = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dumped.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dumped)
    for needle in (marker.decode(), name_marker, text_marker):
        assert needle not in text
    assert item.sha256 in text  # the dump did read the evidence table


def test_a_tampered_file_is_named_by_verify_and_refused_on_download(staff, event, cli, home):
    cw = staff["caseworker"]
    good = evidence.attach(cw, event.code, io.BytesIO(b"g" * 1000), file_name="good.jpg")
    bad = evidence.attach(cw, event.code, io.BytesIO(b"b" * 400_000), file_name="bad.jpg")
    run = cli("evidence", "verify")
    assert run.returncode == 0, run.stderr
    assert "2 evidence files verified" in run.stdout

    path = filestore.path_of(bad.file_id)
    blob = bytearray(path.read_bytes())
    blob[300_000] ^= 0x01  # one byte, in the second chunk
    path.write_bytes(bytes(blob))
    run = cli("evidence", "verify")
    assert run.returncode == 1
    assert f"incident evidence {event.code}/{bad.pk}" in run.stderr
    assert str(good.pk) not in run.stderr

    with pytest.raises(evidence.EvidenceTampered):
        evidence.download(cw, event.code, bad.pk, reason="court", reauthenticated=True)
    entry = bad.custody.filter(action="download").get()
    assert entry.detail == {"ok": False, "failure": "tampered"} and entry.reason == "court"
    assert not evidence.verify_evidence(cw, event.code, bad.pk).ok
    assert evidence.verify_evidence(cw, event.code, good.pk).ok
    assert bad.custody.filter(action="verify").get().detail == {"ok": False}


def test_key_rotation_rewraps_the_rows(staff, event):
    item = evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"k" * 10), file_name="k")
    stored = evidence.stored_file(item)
    moved = filestore.StoredFile(stored.file_id, stored.sha256, stored.size, "k9", "v1:k9:x")
    evidence.source_rewrapped(moved)
    item.refresh_from_db()
    assert (item.key_id, item.wrapped_key) == ("k9", "v1:k9:x")
    labels = [label for label, _s in evidence.source_files()]
    assert labels == [f"incident evidence {event.code}/{item.pk}"]


# --- Pages ---------------------------------------------------------------------------------


def test_pages_upload_download_with_the_password_and_custody(staff, event, client, login):
    cw = staff["caseworker"]
    login(client, cw)
    base = f"/incidents/{event.code}/evidence/"
    page = client.get(base)
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    data = _payload(_marker(), 5000)
    answer = client.post(base, {"file": SimpleUploadedFile("scan.pdf", data, "application/pdf")})
    assert answer.status_code == 302
    item = Evidence.objects.get()
    page = client.get(base)
    assert b"scan.pdf" in page.content and item.sha256[:12].encode() in page.content

    download = f"{base}{item.pk}/download"
    assert client.get(download).status_code == 200
    wrong = client.post(download, {"password": "not it", "reason": "court"})
    assert wrong.status_code == 400 and _ko("The password is not correct.") in wrong.content
    no_reason = client.post(download, {"password": PASSWORD, "reason": ""})
    assert no_reason.status_code == 400
    assert not item.custody.filter(action="download").exists()

    got = client.post(download, {"password": PASSWORD, "reason": "for the lawyer"})
    assert got.status_code == 200 and got.streaming
    assert b"".join(got.streaming_content) == data
    assert got["Content-Type"] == "application/octet-stream"
    assert got["Content-Disposition"] == 'attachment; filename="scan.pdf"'
    assert got["X-Content-Type-Options"] == "nosniff"

    custody = client.get(f"{base}{item.pk}/custody")
    assert custody.status_code == 200 and b"for the lawyer" in custody.content
    assert _actions(item) == ["upload", "view", "download"]


def test_pages_refuse_bad_uploads_by_field(staff, event, client, login, home, settings):
    settings.JIKIMI_EVIDENCE_MAX_BYTES = 10
    login(client, staff["caseworker"])
    base = f"/incidents/{event.code}/evidence/"
    answer = client.post(base, {"file": SimpleUploadedFile("big.bin", b"x" * 11)})
    limit = _ko("The file is larger than the limit of %(limit)s.").split(b"%")[0]
    assert answer.status_code == 400 and limit in answer.content
    assert client.post(base, {"description": "no file"}).status_code == 400
    login(client, staff["analyst"])
    assert client.post(base, {"file": SimpleUploadedFile("a.bin", b"x")}).status_code == 403
    assert not Evidence.objects.exists() and _store_files(home) == []


def test_pages_of_another_organisation_are_404(staff, event, client, login):
    item = evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"x"), file_name="a.txt")
    login(client, staff["outsider"])
    base = f"/incidents/{event.code}/evidence/"
    for url in (base, f"{base}{item.pk}/download", f"{base}{item.pk}/custody"):
        assert client.get(url).status_code == 404, url
    answer = client.post(f"{base}{item.pk}/download", {"password": PASSWORD, "reason": "x"})
    assert answer.status_code == 404
    assert _actions(item) == ["upload"]


def test_a_tampered_file_is_a_409_page(staff, event, client, login):
    item = evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"t" * 100), file_name="t")
    path = filestore.path_of(item.file_id)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0x01
    path.write_bytes(bytes(blob))
    login(client, staff["caseworker"])
    url = f"/incidents/{event.code}/evidence/{item.pk}/download"
    answer = client.post(url, {"password": PASSWORD, "reason": "court"})
    assert answer.status_code == 409
    assert _ko("The file does not match its record") in answer.content
    assert "기록과 일치하지".encode() in answer.content  # the catalog has it
    assert item.custody.filter(action="download").get().detail["ok"] is False


# --- API -----------------------------------------------------------------------------------


def test_api_upload_list_retrieve_download_custody(staff, event, api_client, api_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    base = f"/api/incidents/events/{event.code}/evidence/"
    data = _payload(_marker(), 70_000)
    made = api_client.post(
        base,
        {"file": SimpleUploadedFile("photo.jpg", data, "image/jpeg"), "description": "roof"},
        format="multipart",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["file_name"] == "photo.jpg" and body["size"] == len(data)
    assert body["media_type"] == "image/jpeg" and body["description"] == "roof"
    listed = api_client.get(base).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert api_client.get(f"{base}{body['id']}/").json()["sha256"] == body["sha256"]

    download = f"{base}{body['id']}/download/"
    refused = api_client.post(download, {"reason": "court"}, format="json")
    assert refused.status_code == 400 and "password" in refused.json()
    wrong = api_client.post(download, {"reason": "court", "password": "no"}, format="json")
    assert wrong.status_code == 403
    got = api_client.post(download, {"reason": "court", "password": PASSWORD}, format="json")
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == data
    assert got["Content-Disposition"].startswith("attachment;")
    custody = api_client.get(f"{base}{body['id']}/custody/").json()
    assert [e["action"] for e in custody] == ["upload", "view", "view", "view", "download"]
    assert custody[-1]["reason"] == "court"


def test_api_of_another_organisation_is_404(staff, event, api_client, api_token):
    item = evidence.attach(staff["caseworker"], event.code, io.BytesIO(b"x"), file_name="a.txt")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['outsider'])}")
    base = f"/api/incidents/events/{event.code}/evidence/"
    assert api_client.get(base).status_code == 404
    assert api_client.get(f"{base}{item.pk}/").status_code == 404
    assert api_client.get(f"{base}{item.pk}/custody/").status_code == 404
    answer = api_client.post(
        f"{base}{item.pk}/download/", {"reason": "x", "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 404
    upload = api_client.post(base, {"file": SimpleUploadedFile("b", b"y")}, format="multipart")
    assert upload.status_code == 404
    assert Evidence.objects.count() == 1

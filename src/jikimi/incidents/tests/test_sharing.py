"""Sharing an event with another organisation (issue #14 item 8): without a grant another
organisation's event, acts and evidence are 404 on the pages and the API; with one they are
readable and read-only, a victim is named only when that person is shared too, the grant is
revoked and access ends, and every share, unshare and read through a grant is audited.

The real parts throughout: the database, the services, the pages through the test client, the
API with a token, and the encrypted evidence store in a temporary JIKIMI_HOME."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound, ReadOnlyAccess
from jikimi.incidents import evidence, services
from jikimi.incidents.models import CustodyEntry, EventGrant
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


class World:
    """Alpha's event of two acts: victim `shared` (a person Alpha also shared with Beta by a
    people grant) and victim `private` (not shared); a named source; three files: one on
    each act and one on the whole event."""

    def __init__(self, staff, orgs) -> None:
        self.alpha, self.beta = orgs
        self.owner = staff["caseworker"]
        self.outsider = staff["outsider"]
        self.shared = people.create_person(self.owner, name="Kim Shared", birth_year=1980)
        self.private = people.create_person(self.owner, name="Pak Private", birth_year=1975)
        people.record_consent(self.owner, self.shared, purpose="sharing", granted=True)
        people.grant_access(self.owner, self.shared, self.beta, "joint case")
        self.event = services.record_event(
            self.owner,
            title="Two women taken near Tumen",
            date="2018-06",
            place="Tumen",
            acts=[
                {"act_type": "arrest", "victim": self.shared.code, "victim_details": "Shared W"},
                {"act_type": "arrest", "victim": self.private.code, "victim_details": "Secret P"},
            ],
            information=[{"source": "Witness Hong", "source_reliability": "B"}],
        )
        acts = {a.victim_id: a for a in self.event.acts.all()}
        self.act_shared, self.act_private = acts[self.shared.pk], acts[self.private.pk]
        self.file_shared = self._attach("shared-act.pdf", self.act_shared)
        self.file_private = self._attach("private-act.pdf", self.act_private)
        self.file_event = self._attach("whole-event.pdf", None)

    def _attach(self, name: str, act) -> evidence.Evidence:
        upload = SimpleUploadedFile(name, f"synthetic {name}".encode(), "application/pdf")
        return evidence.attach(
            self.owner, self.event.code, upload, act=act.pk if act else None, description=name
        )

    def share(self) -> EventGrant:
        return services.share_event(self.owner, self.event, self.beta, "joint appeal")


@pytest.fixture
def world(staff, orgs, settings, tmp_path):
    settings.JIKIMI_HOME = tmp_path / "home"
    return World(staff, orgs)


def _token_client(api_client, api_token, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return api_client


def _urls(world) -> list[str]:
    code = world.event.code
    item = world.file_shared.pk
    return [
        f"/incidents/{code}",
        f"/incidents/{code}/evidence/",
        f"/incidents/{code}/evidence/{item}/download",
        f"/incidents/{code}/evidence/{item}/custody",
    ]


def _api_urls(world) -> list[str]:
    code = world.event.code
    item = world.file_shared.pk
    return [
        f"/api/incidents/events/{code}/",
        f"/api/incidents/events/{code}/grants/",
        f"/api/incidents/events/{code}/evidence/",
        f"/api/incidents/events/{code}/evidence/{item}/",
        f"/api/incidents/events/{code}/evidence/{item}/custody/",
    ]


# --- Without a grant --------------------------------------------------------------------------


def test_without_a_grant_the_event_acts_and_evidence_are_404(
    world, client, login, api_client, api_token
):
    login(client, world.outsider)
    for url in _urls(world):
        assert client.get(url).status_code == 404, url
    listing = client.get("/incidents/", {"place": "Tumen"}).content.decode()
    assert world.event.code not in listing
    api = _token_client(api_client, api_token, world.outsider)
    for url in _api_urls(world):
        assert api.get(url).status_code == 404, url
    acts = api.get("/api/incidents/acts/", {"event": world.event.code}).json()
    assert acts["count"] == 0
    events = api.get("/api/incidents/events/").json()
    assert world.event.code not in {e["code"] for e in events["results"]}
    share = api.post(
        f"/api/incidents/events/{world.event.code}/grants/",
        {"organisation": "beta", "reason": "x"},
        format="json",
    )
    assert share.status_code == 404
    with pytest.raises(NotFound):
        services.get_event(world.outsider, world.event.code)


# --- Sharing: the owner's rules -------------------------------------------------------------------


def test_share_needs_a_reason_another_organisation_and_one_live_grant(world, staff):
    with pytest.raises(InvalidInput) as empty:
        services.share_event(world.owner, world.event, world.beta, "  ")
    assert set(empty.value.errors) == {"reason"}
    with pytest.raises(InvalidInput) as own:
        services.share_event(world.owner, world.event, world.alpha, "why")
    assert set(own.value.errors) == {"organisation"}
    with pytest.raises(InvalidInput) as none:
        services.share_event(world.owner, world.event, None, "why")
    assert set(none.value.errors) == {"organisation"}
    world.share()
    with pytest.raises(InvalidInput) as twice:
        world.share()
    assert "already shared" in twice.value.messages()["organisation"]
    with pytest.raises(AccessDenied):  # an analyst does not share
        services.share_event(staff["analyst"], world.event, world.beta, "why")
    assert EventGrant.objects.filter(revoked_at__isnull=True).count() == 1


def test_share_and_unshare_are_audited_in_both_organisations(world):
    grant = world.share()
    shares = AuditEvent.objects.filter(action="event.share", object_ref=world.event.code)
    assert {e.organisation_id for e in shares} == {world.alpha.pk, world.beta.pk}
    assert all(e.detail == {"to_organisation": world.beta.pk, "grant": grant.pk} for e in shares)
    services.unshare_event(world.owner, world.event, grant.pk)
    ends = AuditEvent.objects.filter(action="event.unshare", object_ref=world.event.code)
    assert {e.organisation_id for e in ends} == {world.alpha.pk, world.beta.pk}
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == world.owner
    with pytest.raises(NotFound):  # ended once
        services.unshare_event(world.owner, world.event, grant.pk)


# --- With a grant: read-only, victims hidden unless shared ---------------------------------------


def test_the_grantee_reads_the_event_with_only_the_shared_victim_named(world, client, login):
    world.share()
    login(client, world.outsider)
    page = client.get(f"/incidents/{world.event.code}")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="shared-banner"' in body and world.alpha.name in body
    assert world.shared.code in body and "Kim Shared" in body
    assert world.private.code not in body and "Pak Private" not in body
    assert "a victim not shared with you" not in body  # the page is in Korean
    assert "귀 기관에 공유되지 않은 피해자" in body
    assert "Witness Hong" not in body  # a named source stays the owner's
    # Read-only: no sharing form, no upload, no withdrawal, no case opened from here.
    for writes in ("/share", 'enctype="multipart/form-data"', "/withdraw", "/cases/new"):
        assert writes not in body, writes
    # Downloads: only the file of the shared victim's act.
    assert f"{world.file_shared.pk}/download" in body
    assert f"{world.file_private.pk}/download" not in body
    assert f"{world.file_event.pk}/download" not in body
    assert "private-act.pdf" not in body and "shared-act.pdf" in body


def test_the_grantee_finds_the_acts_but_never_by_an_unshared_victim(world):
    world.share()
    rows, total = services.list_acts(world.outsider, {"event": world.event.code})
    assert total == 2
    hidden = [r for r in rows if r.victim_hidden]
    assert len(hidden) == 1
    assert hidden[0].victim is None and hidden[0].victim_name is None
    assert hidden[0].victim_details is None
    assert {r.victim for r in rows if not r.victim_hidden} == {world.shared.code}
    assert services.list_acts(world.outsider, {"victim": world.private.code})[1] == 0
    assert services.list_acts(world.outsider, {"victim": world.shared.code})[1] == 1
    # The owner's own view is unchanged.
    own, _total = services.list_acts(world.owner, {"event": world.event.code})
    assert not any(r.victim_hidden for r in own)
    assert {r.victim for r in own} == {world.shared.code, world.private.code}
    # The grantee's log names no hidden victim; the reads are marked as through a grant.
    listed = AuditEvent.objects.filter(
        action="incident.acts.list", organisation_id=world.beta.pk
    ).last()
    assert listed is not None and world.private.code not in str(listed.detail)
    assert listed.detail.get("via_grant") == [world.event.code]


def test_the_grantee_api_marks_hidden_victims_and_the_owner(world, api_client, api_token):
    world.share()
    api = _token_client(api_client, api_token, world.outsider)
    body = api.get(f"/api/incidents/events/{world.event.code}/").json()
    assert body["shared_by"] == world.alpha.name
    acts = {a["victim"]: a for a in body["acts"]}
    assert set(acts) == {world.shared.code, None}
    assert acts[None]["victim_hidden"] is True and acts[None]["victim_details"] is None
    assert acts[world.shared.code]["victim_details"] == "Shared W"
    assert all(i["source"] is None for i in body["information"])
    assert world.private.code not in str(body)
    listed = api.get("/api/incidents/events/").json()
    assert world.event.code in {e["code"] for e in listed["results"]}
    grants = api.get(f"/api/incidents/events/{world.event.code}/grants/").json()
    assert [(g["organisation"], g["reason"], g["granted_by"]) for g in grants] == [
        ("beta", "", None)
    ]


def test_reads_through_a_grant_are_audited_in_both_logs(world):
    world.share()
    services.get_event(world.outsider, world.event.code)
    reads = AuditEvent.objects.filter(action="incident.read", actor_id=world.outsider.pk)
    assert {e.organisation_id for e in reads} == {world.alpha.pk, world.beta.pk}
    assert all(e.detail.get("via_grant") is True for e in reads)
    owner_reads = AuditEvent.objects.filter(action="incident.read", actor_id=world.owner.pk)
    assert all("via_grant" not in e.detail for e in owner_reads)


def test_every_write_by_the_grantee_is_refused_read_only(
    world, client, login, api_client, api_token
):
    world.share()
    code = world.event.code
    with pytest.raises(ReadOnlyAccess):
        services.share_event(world.outsider, world.event, world.alpha, "pass it on")
    grant = EventGrant.objects.get()
    with pytest.raises(ReadOnlyAccess):
        services.unshare_event(world.outsider, world.event, grant.pk)
    login(client, world.outsider)
    upload = SimpleUploadedFile("x.pdf", b"x", "application/pdf")
    assert client.post(f"/incidents/{code}/evidence/", {"file": upload}).status_code == 403
    withdraw = f"/incidents/{code}/evidence/{world.file_shared.pk}/withdraw"
    assert client.get(withdraw).status_code == 403
    assert client.post(withdraw, {"password": PASSWORD, "reason": "x"}).status_code == 403
    share = client.post(f"/incidents/{code}/share", {"organisation": world.alpha.pk, "reason": "x"})
    assert share.status_code == 403
    assert client.post(f"/incidents/{code}/grants/{grant.pk}/revoke").status_code == 403
    api = _token_client(api_client, api_token, world.outsider)
    base = f"/api/incidents/events/{code}"
    refused = [
        api.post(f"{base}/evidence/", {"file": SimpleUploadedFile("y.pdf", b"y")}),
        api.post(
            f"{base}/evidence/{world.file_shared.pk}/withdraw/",
            {"reason": "x", "password": PASSWORD},
            format="json",
        ),
        api.post(f"{base}/grants/", {"organisation": "alpha", "reason": "x"}, format="json"),
        api.post(f"{base}/grants/{grant.pk}/revoke/"),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert all("detail" in r.json() for r in refused)
    assert world.event.evidence.count() == 3 and EventGrant.objects.get().revoked_at is None
    refusals = AuditEvent.objects.filter(action="incident.write_refused")
    assert refusals.filter(organisation_id=world.beta.pk).count() >= 8


# --- Evidence through a grant ---------------------------------------------------------------------


def test_the_grantee_downloads_only_a_file_of_a_shared_victims_act(
    world, api_client, api_token, client, login
):
    world.share()
    api = _token_client(api_client, api_token, world.outsider)
    base = f"/api/incidents/events/{world.event.code}/evidence/"
    listed = {r["id"]: r for r in api.get(base).json()}
    mine, private, whole = (
        listed[str(f.pk)] for f in (world.file_shared, world.file_private, world.file_event)
    )
    assert mine["downloadable"] and not private["downloadable"] and not whole["downloadable"]
    assert private["file_name"] == "" and private["description"] == ""
    assert private["sha256"] == world.file_private.sha256  # its metadata is shown
    assert whole["file_name"] == "whole-event.pdf"
    assert all(r["uploaded_by"] is None for r in listed.values())  # the owner's staff

    body = {"reason": "joint appeal", "password": PASSWORD}
    for refused in (world.file_private, world.file_event):
        answer = api.post(f"{base}{refused.pk}/download/", body, format="json")
        assert answer.status_code == 403, refused
    got = api.post(f"{base}{world.file_shared.pk}/download/", body, format="json")
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"synthetic shared-act.pdf"
    no_password = api.post(
        f"{base}{world.file_shared.pk}/download/", {"reason": "x", "password": "no"}, format="json"
    )
    assert no_password.status_code in (400, 403)

    entry = CustodyEntry.objects.get(evidence=world.file_shared, action="download")
    assert entry.user == world.outsider and entry.detail == {"ok": True, "via_grant": True}
    downloads = AuditEvent.objects.filter(
        action="evidence.download", object_ref=str(world.file_shared.pk)
    )
    assert {e.organisation_id for e in downloads} == {world.alpha.pk, world.beta.pk}
    refusals = AuditEvent.objects.filter(action="evidence.download_refused")
    assert {e.detail["why"] for e in refusals} == {"grant"}

    # The custody log: the grantee's own entries in full, the owner's without names/reasons.
    rows = api.get(f"{base}{world.file_shared.pk}/custody/").json()
    assert {r["user"] for r in rows} == {None, world.outsider.username}
    assert "joint appeal" in {r["reason"] for r in rows if r["user"]}

    # The page download: the form for the shared act's file, 403 for the others.
    login(client, world.outsider)
    page = f"/incidents/{world.event.code}/evidence/"
    assert client.get(f"{page}{world.file_shared.pk}/download").status_code == 200
    assert client.get(f"{page}{world.file_private.pk}/download").status_code == 403


# --- Revoking ends access -------------------------------------------------------------------------


def test_revoking_ends_access_on_the_pages_and_the_api(world, client, login, api_client, api_token):
    grant = world.share()
    login(client, world.outsider)
    assert client.get(f"/incidents/{world.event.code}").status_code == 200
    owner_api = _token_client(api_client, api_token, world.owner)
    listed = owner_api.get(f"/api/incidents/events/{world.event.code}/grants/").json()
    assert [(g["id"], g["reason"], g["granted_by"]) for g in listed] == [
        (grant.pk, "joint appeal", world.owner.username)
    ]
    revoked = owner_api.post(f"/api/incidents/events/{world.event.code}/grants/{grant.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = owner_api.post(f"/api/incidents/events/{world.event.code}/grants/{grant.pk}/revoke/")
    assert again.status_code == 404
    for url in _urls(world):
        assert client.get(url).status_code == 404, url
    assert services.list_acts(world.outsider, {"event": world.event.code})[1] == 0
    api = _token_client(api_client, api_token, world.outsider)
    for url in _api_urls(world):
        assert api.get(url).status_code == 404, url


# --- The owner's page and API ---------------------------------------------------------------------


def test_the_owner_shares_and_stops_sharing_on_the_event_page(world, client, login):
    login(client, world.owner)
    url = f"/incidents/{world.event.code}"
    page = client.get(url).content.decode()
    assert f'action="{url}/share"' in page and "Beta Human Rights Centre" in page
    refused = client.post(f"{url}/share", {"organisation": world.beta.pk, "reason": ""})
    assert refused.status_code == 400 and not EventGrant.objects.exists()
    assert "field-error" in refused.content.decode()
    unknown = client.post(f"{url}/share", {"organisation": "999999", "reason": "x"})
    assert unknown.status_code == 400
    done = client.post(f"{url}/share", {"organisation": world.beta.pk, "reason": "joint appeal"})
    assert done.status_code == 302
    grant = EventGrant.objects.get()
    assert (grant.to_organisation, grant.from_organisation, grant.granted_by) == (
        world.beta,
        world.alpha,
        world.owner,
    )
    page = client.get(url).content.decode()
    assert f"{url}/grants/{grant.pk}/revoke" in page and "joint appeal" in page
    assert client.post(f"{url}/grants/{grant.pk}/revoke").status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert client.post(f"{url}/grants/{grant.pk}/revoke").status_code == 404


def test_the_api_shares_with_field_named_errors(world, api_client, api_token):
    api = _token_client(api_client, api_token, world.owner)
    url = f"/api/incidents/events/{world.event.code}/grants/"
    unknown = api.post(url, {"organisation": "nobody", "reason": "x"}, format="json")
    assert unknown.status_code == 400 and set(unknown.json()) == {"organisation"}
    empty = api.post(url, {"organisation": "beta", "reason": ""}, format="json")
    assert empty.status_code == 400 and set(empty.json()) == {"reason"}
    own = api.post(url, {"organisation": "alpha", "reason": "x"}, format="json")
    assert own.status_code == 400 and set(own.json()) == {"organisation"}
    made = api.post(url, {"organisation": "beta", "reason": "joint appeal"}, format="json")
    assert made.status_code == 201
    assert made.json()["organisation"] == "beta" and made.json()["revoked_at"] is None
    twice = api.post(url, {"organisation": "beta", "reason": "again"}, format="json")
    assert twice.status_code == 400 and set(twice.json()) == {"organisation"}


def test_an_export_keeps_to_the_organisations_own_acts(world):
    """A grant shares a read-only view, not a copy to take away."""
    from jikimi.incidents import export

    world.share()
    outsider = export.export_acts(world.outsider, {}, format="csv", reauthenticated=True)
    assert outsider.count == 0 and list(outsider.rows()) == []
    owner = export.export_acts(world.owner, {}, format="csv", reauthenticated=True)
    assert owner.count == 2 and len(list(owner.rows())) == 2


def test_the_database_keeps_one_live_grant_per_event_and_organisation(world):
    """Two case workers sharing at once: the second insert fails in the database, and the
    service turns that into the same field error as its own check (never a 500)."""
    from django.db import IntegrityError, transaction

    grant = world.share()
    with pytest.raises(IntegrityError), transaction.atomic():
        EventGrant.objects.create(
            event=world.event,
            from_organisation=world.alpha,
            to_organisation=world.beta,
            granted_by=world.owner,
            reason="twice",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        EventGrant.objects.create(
            event=world.event,
            from_organisation=world.alpha,
            to_organisation=world.alpha,
            granted_by=world.owner,
            reason="to itself",
        )
    services.unshare_event(world.owner, world.event, grant.pk)
    again = world.share()  # a revoked grant does not block a new one
    assert again.pk != grant.pk


def test_a_race_between_two_shares_is_a_field_error(world, monkeypatch):
    from django.db.models import QuerySet

    world.share()
    # The second share passed the service's own check just before the first one committed.
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with pytest.raises(InvalidInput) as raced:
        world.share()
    assert set(raced.value.errors) == {"organisation"}
    assert EventGrant.objects.count() == 1


def test_the_act_table_of_a_grantee_hides_the_victim_and_offers_no_case(world):
    """The act table (built by `incidents_ui.act_rows`) of a shared event: the unshared
    victim is "a victim not shared with you", and no row offers to open a case, which is
    done on one's own records only; the owner's table offers it on every row."""
    from django.template.loader import render_to_string
    from django.utils import translation

    world.share()

    def table(user):
        rows, _total = services.list_acts(user, {"event": world.event.code})
        with translation.override("en"):
            return render_to_string(
                "incidents/_acts.html",
                {"rows": rows, "titles": {}, "show_event": True, "open_cases": True},
            )

    grantee = table(world.outsider)
    assert grantee.count("a victim not shared with you") == 1
    assert grantee.count('<span class="badge info">Shared with you</span>') == 2
    assert world.private.code not in grantee and world.shared.code in grantee
    assert 'class="open-case"' not in grantee
    owner = table(world.owner)
    assert owner.count('class="open-case"') == 2 and "Shared with you" not in owner


def test_the_administrators_page_lists_the_event_grants_given_and_received(
    world, staff, client, login
):
    """/admin/event-grants/: the owner's administrators see the grant with its reason and
    member; the grantee's administrators see it without them; anyone else 404; audited."""
    from jikimi.accounts.services import create_staff

    grant = world.share()
    services.unshare_event(world.owner, world.event, grant.pk)
    world.share()  # shared again: one revoked grant and one in force
    url = "/admin/event-grants/"
    owner_page = login(client, staff["admin"]).get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert owner_page.status_code == 200
    body = owner_page.content.decode()
    ours = body[body.index('id="ours"') : body.index('id="theirs"')]
    assert ours.count(f">{world.event.code}</") == 2 and "joint appeal" in ours
    assert "Revoked" in ours and world.owner.username in ours
    # Each grant's state, from the cell the people's grants page shares (grant_status.html).
    assert ours.count('<span class="badge">Revoked</span>') == 1
    assert ours.count('<span class="badge ok">In force</span>') == 1
    assert "No other organisation shares an event with us." in body
    admin_b, _ = create_staff("admin-b", PASSWORD, world.beta, "admin")
    theirs_page = login(client, admin_b).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    theirs = theirs_page[theirs_page.index('id="theirs"') :]
    assert theirs.count(f">{world.event.code}</") == 2 and world.alpha.name in theirs
    assert "joint appeal" not in theirs_page and world.owner.username not in theirs
    assert login(client, world.owner).get(url).status_code == 404  # not an administrator
    listed = AuditEvent.objects.filter(action="sharing.list", organisation_id=world.beta.pk)
    assert listed.filter(detail__events_theirs=2).exists()

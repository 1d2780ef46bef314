"""Evidence attached to events and acts: intake, listing, download and the custody log.

The bytes live in the encrypted evidence store (`jikimi.core.filestore`, under
`JIKIMI_HOME/evidence/`), never in the database; an `Evidence` row keeps the file id, the
SHA-256 and size taken at intake and the wrapped per-file key. Access is the event's
(`services.get_event`): another organisation's event or evidence is `NotFound` (404), unless
the event is shared with the user's organisation (`services.share_event`).

Through a grant the evidence is read-only: attaching and withdrawing are `ReadOnlyAccess`
(403). The grantee sees each file's metadata (type, size, SHA-256, when) and its custody log,
but not the owner's staff names or their reasons, nor the name and description of a file
attached to an act whose victim it may not see. It may download a file only when the file
is attached to an act whose victim it can see (its own person, or one a people SharingGrant
shares), with the owner's checks (a role that sees identities, the password again, a
reason, the SHA-256 verified); every view and download is in the file's custody log marked
`via_grant` and audited in both organisations' logs. A file of the whole event or of a hidden
victim's act is not handed out: its bytes cannot be redacted, and a scan or a photograph may
name or show every victim of the event — sharing the event must not share them.

Every upload, view (a listing or a metadata read), download and verification appends a
`CustodyEntry` (who, when, why) and an audit event; nothing here updates or deletes one.

- `attach` stores the file FIRST (`filestore.put`, streamed in chunks, at most
  `JIKIMI_EVIDENCE_MAX_BYTES`), then writes the row in a transaction; if the row fails the
  stored file is deleted, so a failed upload leaves neither file nor row.
- Analysts and auditors (pseudonymous data only) see no file name or description and
  download nothing (AccessDenied); auditors read custody reasons, analysts do not.
- `download` needs a fresh re-authentication (the caller says so: pages from the session's
  `accounts.recently_authenticated`, the API from the password in the body) and a reason. It
  verifies the whole file against its recorded SHA-256 before the first byte goes out, so a
  tampered file is refused (`EvidenceTampered`, 409) and the custody entry says so, rather
  than a partial, unverifiable copy being handed out.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.core import filestore
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound, ServiceError

from . import services
from .models import Act, CustodyAction, CustodyEntry, Event, Evidence

FILE_NAME_MAX = 255
DESCRIPTION_MAX = 5000
REASON_MAX = 1000
_MEDIA_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$"
)


class EvidenceTampered(ServiceError):
    """The stored file does not match what was recorded at intake (or cannot be read)."""

    status_code = 409


class EvidenceWithdrawn(ServiceError):
    """The file was withdrawn: its bytes and key are destroyed, only the tombstone is left."""

    status_code = 410


@dataclass(frozen=True)
class EvidenceRow:
    id: str
    event: str  # the event's code
    act: str | None  # the act's id
    file_name: str
    media_type: str
    size: int
    sha256: str
    description: str
    uploaded_by: str | None  # the uploader's user name
    uploaded_at: Any
    withdrawn_at: Any = None  # set when withdrawn (the file is gone)
    withdrawn_by: str | None = None
    withdrawn_reason: str = ""
    # This user may download it (the rules above; a withdrawn file never).
    downloadable: bool = False

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def sha256_short(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True)
class CustodyRow:
    action: str
    action_label: str
    user: str | None
    at: Any
    reason: str
    detail: dict


def stored_file(evidence: Evidence) -> filestore.StoredFile:
    return filestore.StoredFile(
        file_id=evidence.file_id,
        sha256=evidence.sha256,
        size=evidence.size,
        key_id=evidence.key_id,
        wrapped_key=evidence.wrapped_key,
    )


def _via_grant(user: User, evidence: Evidence) -> bool:
    return evidence.organisation_id != user.organisation_id


def _of_hidden_victim(user: User, evidence: Evidence) -> bool:
    """A file of a shared event attached to an act whose victim this user may not see."""
    if not _via_grant(user, evidence) or evidence.act is None:
        return False
    return not services._Sight(user).sees(evidence.act.victim)


def _may_download(user: User, evidence: Evidence) -> bool:
    """The owner's staff who see identities; through a grant, only a file of an act whose
    victim the grantee sees (see the module's docstring)."""
    if not user.sees_identities:
        return False
    if not _via_grant(user, evidence):
        return True
    return evidence.act is not None and not _of_hidden_victim(user, evidence)


def _row(user: User, evidence: Evidence, event_code: str) -> EvidenceRow:
    """Roles with pseudonymous data only (analysts, auditors) see no file name or
    description: either may name someone. Through a grant: no names of the owner's staff,
    no withdrawal reason, and nothing of a file of a hidden victim's act but its metadata."""
    own = not _via_grant(user, evidence)
    names = user.sees_identities and not _of_hidden_victim(user, evidence)
    return EvidenceRow(
        id=str(evidence.pk),
        event=event_code,
        act=str(evidence.act_id) if evidence.act_id else None,
        file_name=evidence.file_name if names else "",
        media_type=evidence.media_type,
        size=evidence.size,
        sha256=evidence.sha256,
        description=(evidence.description or "") if names else "",
        uploaded_by=evidence.uploaded_by.get_username() if evidence.uploaded_by and own else None,
        uploaded_at=evidence.uploaded_at,
        withdrawn_at=evidence.withdrawn_at,
        withdrawn_by=evidence.withdrawn_by.get_username()
        if evidence.withdrawn_by and own
        else None,
        withdrawn_reason=(evidence.withdrawn_reason or "") if names and own else "",
        downloadable=evidence.withdrawn_at is None and _may_download(user, evidence),
    )


def _custody(
    user: User | None,
    evidence: Evidence,
    action: str,
    *,
    reason: str = "",
    detail: dict | None = None,
) -> CustodyEntry:
    """Append one custody entry and its audit event (no personal data in either's detail).
    A user of another organisation (through a grant) is marked `via_grant`, and the audit
    event goes to its organisation's log too."""
    detail = dict(detail or {})
    via_grant = user is not None and user.is_authenticated and _via_grant(user, evidence)
    if via_grant:
        detail["via_grant"] = True
    entry = CustodyEntry.objects.create(
        evidence=evidence,
        action=action,
        user=user if user is not None and user.is_authenticated else None,
        reason=reason or None,
        detail=detail,
    )
    audit.record(
        f"evidence.{action}",
        actor=user,
        object_type="evidence",
        object_ref=str(evidence.pk),
        organisation_id=evidence.organisation_id,
        detail={"event": evidence.event.code, **detail},
    )
    if via_grant:
        assert user is not None
        audit.record(
            f"evidence.{action}",
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            detail={"event": evidence.event.code, **detail},
        )
    return entry


# --- Intake ----------------------------------------------------------------------------------


def _file_name(name: str) -> str:
    """The name as the uploader's system gave it, without any folder, control characters
    or surrounding blanks."""
    name = PureWindowsPath(PurePosixPath(str(name or "")).name).name
    return "".join(ch for ch in name if ch.isprintable()).strip()


def _media_type(given: str | None, file_name: str) -> str:
    given = (given or "").split(";")[0].strip().lower()
    if _MEDIA_TYPE.match(given):
        return given
    guessed, _encoding = mimetypes.guess_type(file_name)
    return guessed or "application/octet-stream"


def _act_of(event: Event, act: Any) -> Act | None:
    if act in (None, ""):
        return None
    if isinstance(act, Act):
        act = act.pk
    try:
        act_id = uuid.UUID(str(act).strip())
    except ValueError:
        act_id = None
    found = Act.objects.filter(event=event, pk=act_id).first() if act_id else None
    if found is None:
        raise InvalidInput({"act": _("This event has no such act.")})
    return found


def attach(
    user: User,
    event_code: str,
    upload: Any,
    *,
    act: Any = None,
    description: str = "",
    file_name: str | None = None,
    media_type: str | None = None,
) -> Evidence:
    """Attach a file (a Django `UploadedFile`, a binary file or an iterable of bytes) to the
    event of this code, optionally to one of its acts. NotFound for another organisation's
    event; AccessDenied for a role that does not record incidents; InvalidInput (by field:
    `file`, `act`, `description`) with nothing stored for bad input; ReadOnlyAccess for an
    event shared with the user's organisation."""
    event = services.get_event(user, event_code, purpose="attach")
    services.require_recorder(user)
    errors: dict[str, Any] = {}
    if upload is None:
        errors["file"] = _("Choose a file to attach.")
    name = _file_name(file_name if file_name is not None else getattr(upload, "name", ""))
    if upload is not None and not name:
        errors["file"] = _("The file has no name.")
    elif len(name) > FILE_NAME_MAX:
        errors["file"] = _("The file name is longer than %(limit)s characters.") % {
            "limit": FILE_NAME_MAX
        }
    description = str(description or "").replace("\x00", "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("Longer than %(limit)s characters.") % {"limit": DESCRIPTION_MAX}
    try:
        the_act = _act_of(event, act)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    kind = _media_type(
        media_type if media_type is not None else getattr(upload, "content_type", None), name
    )
    if hasattr(upload, "seek"):
        upload.seek(0)
    try:
        stored = filestore.put(upload, max_bytes=settings.JIKIMI_EVIDENCE_MAX_BYTES)
    except filestore.FileTooLarge as exc:
        audit.record(
            "evidence.refused_too_large",
            actor=user,
            object_type="incident",
            object_ref=event.code,
            detail={"limit": exc.max_bytes},
        )
        raise InvalidInput({"file": str(exc)}) from None
    try:
        with transaction.atomic():
            evidence = Evidence(
                organisation_id=event.organisation_id,
                event=event,
                act=the_act,
                file_name=name,
                description=description or None,
                media_type=kind,
                size=stored.size,
                sha256=stored.sha256,
                file_id=stored.file_id,
                key_id=stored.key_id,
                wrapped_key=stored.wrapped_key,
                uploaded_by=user,
            )
            evidence.save()
            _custody(
                user,
                evidence,
                CustodyAction.UPLOAD,
                detail={"size": stored.size, "sha256": stored.sha256},
            )
    except BaseException:
        filestore.delete(stored)  # no row, so no file either
        raise
    return evidence


# --- Reads -------------------------------------------------------------------------------------


def _evidence_of(event: Event) -> QuerySet[Evidence]:
    return Evidence.objects.filter(event=event).select_related(
        "uploaded_by", "withdrawn_by", "event", "act__victim"
    )


def list_evidence(user: User, event_code: str) -> tuple[Event, list[EvidenceRow]]:
    """The evidence of an event, oldest first; each file listed gets a custody "view"."""
    event = services.get_event(user, event_code)
    items = list(_evidence_of(event))
    with transaction.atomic():
        for item in items:
            _custody(user, item, CustodyAction.VIEW, detail={"via": "list"})
    return event, [_row(user, item, event.code) for item in items]


def get_evidence(
    user: User, event_code: str, evidence_id: Any, *, purpose: str = "view"
) -> Evidence:
    """The evidence of this id on the event of this code; NotFound for any other (and, for
    a write `purpose`, ReadOnlyAccess through a grant: `services.get_event`)."""
    event = services.get_event(user, event_code, purpose=purpose)
    try:
        pk = uuid.UUID(str(evidence_id))
    except ValueError:
        raise NotFound(evidence_id) from None
    evidence = _evidence_of(event).filter(pk=pk).first()
    if evidence is None:
        audit.record(
            "evidence.not_found", actor=user, object_type="incident", object_ref=event.code
        )
        raise NotFound(evidence_id)
    return evidence


def evidence_detail(user: User, event_code: str, evidence_id: Any) -> EvidenceRow:
    """One file's metadata (a custody "view")."""
    evidence = get_evidence(user, event_code, evidence_id)
    _custody(user, evidence, CustodyAction.VIEW, detail={"via": "detail"})
    return _row(user, evidence, evidence.event.code)


def custody_log(
    user: User, event_code: str, evidence_id: Any
) -> tuple[EvidenceRow, list[CustodyRow]]:
    """The custody log of one file, oldest first (reading it is audited)."""
    evidence = get_evidence(user, event_code, evidence_id)
    audit.record(
        "evidence.custody_read",
        actor=user,
        object_type="evidence",
        object_ref=str(evidence.pk),
        detail={"event": evidence.event.code},
    )
    entries = evidence.custody.select_related("user").order_by("at", "id")
    # A reason is free text typed by staff: for those who see identities, and auditors.
    # Through a grant, the names and reasons of the owner's staff stay the owner's: the
    # grantee reads its own organisation's entries in full, the others' actions and times.
    reasons = user.sees_identities or accounts.can_read_audit(user)
    org = user.organisation_id

    def ours(e: CustodyEntry) -> bool:
        return e.user is not None and e.user.organisation_id == org

    own_event = not _via_grant(user, evidence)
    rows = [
        CustodyRow(
            action=e.action,
            action_label=str(CustodyAction(e.action).label),
            user=e.user.get_username() if e.user and (own_event or ours(e)) else None,
            at=e.at,
            reason=(e.reason or "") if reasons and (own_event or ours(e)) else "",
            detail=e.detail,
        )
        for e in entries
    ]
    return _row(user, evidence, evidence.event.code), rows


# --- Download and verification -------------------------------------------------------------


def _reason(reason: Any, *, withdraw: bool = False) -> str:
    text = str(reason or "").replace("\x00", "").strip()
    if not text:
        raise InvalidInput(
            {
                "reason": _("Say why this file is withdrawn (required).")
                if withdraw
                else _("Say why you download this file (required).")
            }
        )
    if len(text) > REASON_MAX:
        raise InvalidInput(
            {"reason": _("Longer than %(limit)s characters.") % {"limit": REASON_MAX}}
        )
    return text


def download(
    user: User, event_code: str, evidence_id: Any, *, reason: Any, reauthenticated: bool
) -> tuple[Evidence, Iterator[bytes]]:
    """The file's plaintext, as chunks, after checks: visible (NotFound), re-authenticated
    (`accounts.ReauthRequired`), a reason (InvalidInput `reason`), and the whole file
    verified against its SHA-256 (`EvidenceTampered`). Custody and audit record the
    download, or the refusal of a tampered file."""
    evidence = get_evidence(user, event_code, evidence_id)
    if not user.sees_identities:
        audit.record(
            "evidence.download_refused",
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            detail={"event": evidence.event.code, "why": "role"},
        )
        raise AccessDenied(
            gettext("Your role sees pseudonymous data only: it does not download evidence.")
        )
    require_downloadable_through_grant(user, evidence)
    _require_present(user, evidence, "evidence.download_refused")
    if not reauthenticated:
        audit.record(
            "evidence.download_refused",
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            detail={"event": evidence.event.code, "why": "reauth"},
        )
        raise accounts.ReauthRequired(gettext("Downloading evidence needs your password again."))
    why = _reason(reason)
    stored = stored_file(evidence)
    result = filestore.verify(stored)
    if not result.ok:
        _custody(
            user,
            evidence,
            CustodyAction.DOWNLOAD,
            reason=why,
            detail={"ok": False, "failure": "tampered"},
        )
        raise EvidenceTampered(result.reason or "tampered")
    _custody(user, evidence, CustodyAction.DOWNLOAD, reason=why, detail={"ok": True})
    return evidence, _stream(user, evidence, stored)


def require_downloadable_through_grant(user: User, evidence: Evidence) -> None:
    """Through a grant, only a file of an act whose victim the grantee sees is handed out
    (the module's docstring says why); any other is AccessDenied (403: the grantee sees the
    file's row), after an audit row in both organisations' logs."""
    if not _via_grant(user, evidence) or _may_download(user, evidence):
        return
    for org in (user.organisation_id, evidence.organisation_id):
        audit.record(
            "evidence.download_refused",
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            organisation_id=org,
            detail={"event": evidence.event.code, "why": "grant", "via_grant": True},
        )
    raise AccessDenied(
        gettext(
            "This file belongs to an event shared with your organisation: only a file of an "
            "act whose victim is shared with you can be downloaded."
        )
    )


def _stream(user: User, evidence: Evidence, stored: filestore.StoredFile) -> Iterator[bytes]:
    """filestore.open, with a custody note if the file changes between the check and the end
    of the download (the download then stops: the client gets a cut-short file)."""
    try:
        yield from filestore.open(stored)
    except filestore.FileStoreError:
        _custody(
            user,
            evidence,
            CustodyAction.DOWNLOAD,
            detail={"ok": False, "failure": "tampered during download"},
        )
        raise


def verify_evidence(user: User, event_code: str, evidence_id: Any) -> filestore.VerifyResult:
    """Re-hash one file against its recorded SHA-256; the custody log records the outcome."""
    evidence = get_evidence(user, event_code, evidence_id)
    _require_present(user, evidence, "evidence.verify_refused")
    result = filestore.verify(stored_file(evidence))
    _custody(user, evidence, CustodyAction.VERIFY, detail={"ok": result.ok})
    return result


def _require_present(user: User, evidence: Evidence, refused: str) -> None:
    if evidence.withdrawn_at is not None:
        audit.record(
            refused,
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            organisation_id=evidence.organisation_id,
            detail={"event": evidence.event.code, "why": "withdrawn"},
        )
        raise EvidenceWithdrawn("the file was withdrawn")


# --- Withdrawal ----------------------------------------------------------------------------


def withdraw(
    user: User, event_code: str, evidence_id: Any, *, reason: Any, reauthenticated: bool
) -> Evidence:
    """Withdraw a file (e.g. its source withdrew consent): the per-file key is erased from
    the row and the ciphertext deleted from the store, so the bytes cannot be recovered;
    the row stays as a tombstone (SHA-256, size, who withdrew it, when and why) and the
    custody log gets a "withdraw" entry. Checks, in order: visible (NotFound), a role that
    records incidents (AccessDenied), not already withdrawn (EvidenceWithdrawn), a fresh
    re-authentication (`accounts.ReauthRequired`), a reason (InvalidInput `reason`).

    The row changes first, in a transaction; the file is deleted once it has committed (a
    crash in between leaves a keyless ciphertext, which `jikimi evidence verify` names as
    a file no record names)."""
    evidence = get_evidence(user, event_code, evidence_id, purpose="withdraw")
    services.require_recorder(user)
    _require_present(user, evidence, "evidence.withdraw_refused")
    if not reauthenticated:
        audit.record(
            "evidence.withdraw_refused",
            actor=user,
            object_type="evidence",
            object_ref=str(evidence.pk),
            organisation_id=evidence.organisation_id,
            detail={"event": evidence.event.code, "why": "reauth"},
        )
        raise accounts.ReauthRequired(gettext("Withdrawing evidence needs your password again."))
    why = _reason(reason, withdraw=True)
    stored = stored_file(evidence)
    with transaction.atomic():
        locked = Evidence.objects.select_for_update().get(pk=evidence.pk)
        if locked.withdrawn_at is not None:  # withdrawn meanwhile
            raise EvidenceWithdrawn("the file was withdrawn")
        evidence.withdrawn_at = timezone.now()
        evidence.withdrawn_by = user
        evidence.withdrawn_reason = why
        evidence.key_id = ""
        evidence.wrapped_key = ""
        evidence.save(
            update_fields=[
                "withdrawn_at",
                "withdrawn_by",
                "withdrawn_reason",
                "key_id",
                "wrapped_key",
            ]
        )
        _custody(user, evidence, CustodyAction.WITHDRAW, reason=why, detail={"destroyed": True})
        transaction.on_commit(lambda: filestore.delete(stored))
    return evidence


# --- The evidence source for `jikimi evidence verify` and key rotation ---------------------------


def source_files() -> Iterator[tuple[str, filestore.StoredFile]]:
    """Every incident evidence file, labelled `incident evidence <event code>/<evidence id>`
    (no file name: an operator's terminal is not the place for it). Withdrawn files are not
    among them: their bytes and keys are destroyed, nothing is left to verify or rewrap."""
    rows = (
        Evidence.objects.filter(withdrawn_at__isnull=True)
        .select_related("event")
        .order_by("uploaded_at", "id")
    )
    for evidence in rows.iterator(chunk_size=2000):
        yield f"incident evidence {evidence.event.code}/{evidence.pk}", stored_file(evidence)


def source_rewrapped(stored: filestore.StoredFile) -> None:
    Evidence.objects.filter(file_id=stored.file_id).update(
        key_id=stored.key_id, wrapped_key=stored.wrapped_key
    )

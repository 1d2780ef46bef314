"""Evidence pages: an event's evidence (list + upload), a file's download (password again +
a reason) and its custody log. Thin: access, custody and audit are in incidents.evidence.

`incidents/_evidence.html` is the section the event page includes; `/incidents/<code>/
evidence/` shows it on its own page too.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from jikimi.accounts import services as accounts
from jikimi.accounts.http import StaffRequest
from jikimi.core.errors import AccessDenied, InvalidInput

from . import evidence, services


class EvidenceForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"), allow_empty_file=True)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=evidence.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    act = forms.ChoiceField(
        label=gettext_lazy("Act"),
        required=False,
        help_text=gettext_lazy("Leave empty when the file concerns the whole event."),
    )

    def __init__(self, *args, acts=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("The whole event"))]
        choices += [
            (
                a.id,
                f"{a.act_type.label} · {a.victim or _('a victim not shared with you')} · {a.date}",
            )
            for a in acts
        ]
        act_field = self.fields["act"]
        assert isinstance(act_field, forms.ChoiceField)
        act_field.choices = choices


class DownloadForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=evidence.REASON_MAX,
        help_text=gettext_lazy("Why you download this file; it is kept in the custody log."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WithdrawForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for withdrawal"),
        max_length=evidence.REASON_MAX,
        help_text=gettext_lazy(
            "For example: the source withdrew consent. It is kept with the record of the file."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _show_errors(form: forms.Form, exc: InvalidInput) -> None:
    for name, message in exc.messages().items():
        form.add_error(name if name in form.fields else None, message)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def evidence_page(request: StaffRequest, code: str) -> HttpResponse:
    """The evidence of an event; POST attaches a file (multipart)."""
    user = request.user
    event = services.get_event(user, code)  # NotFound (404) for another organisation's
    acts = services.event_detail(user, event).acts
    form = EvidenceForm(acts=acts)
    status = 200
    if request.method == "POST":
        services.require_event_owner(user, event, purpose="attach")  # 403 through a grant
        services.require_recorder(user)  # 403 before the upload is judged
        form = EvidenceForm(request.POST, request.FILES, acts=acts)
        if form.is_valid():
            try:
                evidence.attach(
                    user,
                    event.code,
                    form.cleaned_data["file"],
                    act=form.cleaned_data["act"] or None,
                    description=form.cleaned_data["description"],
                )
            except InvalidInput as exc:
                _show_errors(form, exc)
            else:
                messages.success(request, _("The file is attached and stored encrypted."))
                return redirect("incidents:evidence", code=event.code)
        status = 400
    context = {"event": event, **evidence_context(request, event, form=form, acts=acts)}
    return render(request, "incidents/evidence_page.html", context, status=status)


def evidence_context(request: StaffRequest, event, *, form=None, acts=None) -> dict:
    """What `incidents/_evidence.html` needs, for any page that shows an event (`event` has
    a `code`; the event page passes its EventDetail and its acts)."""
    user = request.user
    if form is None:
        if acts is None:
            acts = services.event_detail(user, services.get_event(user, event.code)).acts
        form = EvidenceForm(acts=acts)
    found, rows = evidence.list_evidence(user, event.code)
    # A shared event is read-only for the grantee: no upload, no withdrawal.
    writes = accounts.can_edit_people(user) and not services.is_shared_with(user, found)
    return {
        "evidence_rows": rows,
        "evidence_form": form,
        "can_attach": writes,
        "can_withdraw": writes,
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def evidence_download(
    request: StaffRequest, code: str, evidence_id: str
) -> HttpResponse | StreamingHttpResponse:
    """GET: the form (password + reason); POST: re-authenticate, then stream the file."""
    user = request.user
    item = evidence.get_evidence(user, code, evidence_id)  # NotFound (404)
    if not user.sees_identities:  # not even the file's name (403)
        raise AccessDenied(
            gettext("Your role sees pseudonymous data only: it does not download evidence.")
        )
    evidence.require_downloadable_through_grant(user, item)  # 403 for some shared files
    if item.withdrawn_at is not None:
        return _withdrawn_page(request, item)
    form = DownloadForm()
    status = 200
    if request.method == "POST":
        form = DownloadForm(request.POST)
        status = 400
        if form.is_valid() and _reauthenticated(request, form):
            try:
                found, chunks = evidence.download(
                    user,
                    code,
                    evidence_id,
                    reason=form.cleaned_data["reason"],
                    reauthenticated=accounts.recently_authenticated(request),
                )
            except InvalidInput as exc:
                _show_errors(form, exc)
            except evidence.EvidenceWithdrawn:
                return _withdrawn_page(request, item)
            except evidence.EvidenceTampered:
                return render(
                    request,
                    "incidents/evidence_tampered.html",
                    {"event_code": item.event.code, "item": item},
                    status=409,
                )
            else:
                return attachment_response(found, chunks)
    return render(
        request,
        "incidents/evidence_download.html",
        {"event_code": item.event.code, "item": item, "form": form},
        status=status,
    )


def _reauthenticated(request: StaffRequest, form) -> bool:
    """The form's password checked again (`accounts.reauthenticate`); when refused, the
    reason is put at the password field: the account locked, or the password wrong."""
    try:
        accounts.reauthenticate(request, form.cleaned_data["password"])
    except accounts.LoginFailed as exc:
        form.add_error(
            "password",
            _("This account is locked after too many failed attempts. Try again later.")
            if exc.reason == "locked"
            else _("The password is not correct."),
        )
        return False
    return True


def _withdrawn_page(request: StaffRequest, item) -> HttpResponse:
    return render(
        request,
        "incidents/evidence_withdrawn.html",
        {"event_code": item.event.code, "item": item},
        status=410,
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def evidence_withdraw(request: StaffRequest, code: str, evidence_id: str) -> HttpResponse:
    """GET: the form (password + reason); POST: re-authenticate, then withdraw the file
    (its bytes and key destroyed, the row kept as a tombstone)."""
    user = request.user
    item = evidence.get_evidence(user, code, evidence_id, purpose="withdraw")  # 404 / 403
    services.require_recorder(user)  # 403
    if item.withdrawn_at is not None:
        return _withdrawn_page(request, item)
    form = WithdrawForm()
    status = 200
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        status = 400
        if form.is_valid() and _reauthenticated(request, form):
            try:
                evidence.withdraw(
                    user,
                    code,
                    evidence_id,
                    reason=form.cleaned_data["reason"],
                    reauthenticated=accounts.recently_authenticated(request),
                )
            except InvalidInput as exc:
                _show_errors(form, exc)
            except evidence.EvidenceWithdrawn:
                return _withdrawn_page(request, item)
            else:
                messages.success(
                    request, _("The file is withdrawn: its stored copy and key are destroyed.")
                )
                return redirect("incidents:evidence", code=item.event.code)
    return render(
        request,
        "incidents/evidence_withdraw.html",
        {"event_code": item.event.code, "item": item, "form": form},
        status=status,
    )


def attachment_response(item, chunks) -> StreamingHttpResponse:
    """Always a download, never shown in the browser: a generic type with nosniff, the name
    only in Content-Disposition (Django quotes it, RFC 6266 / 5987)."""
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    response["Content-Length"] = str(item.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = content_disposition_header(True, item.file_name)
    return response


@login_required
@require_GET
def evidence_custody(request: StaffRequest, code: str, evidence_id: str) -> HttpResponse:
    row, entries = evidence.custody_log(request.user, code, evidence_id)
    return render(
        request,
        "incidents/evidence_custody.html",
        {"event_code": row.event, "item": row, "entries": entries},
    )

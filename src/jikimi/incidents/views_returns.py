"""The returnees pages (DESIGN §5): every returnee of the organisation with their current
return determination, and one returnee's determination — the acts and sources for and against
each reading, the history of revisions, and the form of a new revision.

Thin: access, validation and audit are in incidents.determinations (another organisation's
person, or a person who is not a returnee, is NotFound there and 404 here).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from jikimi.accounts.http import StaffRequest
from jikimi.core.errors import InvalidInput
from jikimi.core.paging import MAX_OFFSET

from . import determinations as service
from .models import Confidence, Stance

PAGE_SIZE = 50


def _page_number(value: str | None) -> int:
    try:
        return min(max(1, int(value or "1")), MAX_OFFSET // PAGE_SIZE)
    except ValueError:
        return 1


@login_required
@require_GET
def returnee_list(request: StaffRequest) -> HttpResponse:
    user = request.user
    choices = service.determination_choices()
    chosen = request.GET.get("determination", "")
    known = {code for code, _label in choices} | {service.NO_DETERMINATION}
    refused = bool(chosen) and chosen not in known
    page = _page_number(request.GET.get("page"))
    rows, total = service.list_returnees(
        user,
        determination="" if refused else chosen,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "incidents/returns_list.html",
        {
            "rows": rows,
            "total": total,
            "choices": choices,
            "chosen": "" if refused else chosen,
            "refused": refused,
            "none": service.NO_DETERMINATION,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "confidences": dict(Confidence.choices),
            "show_names": user.sees_identities,
        },
        status=400 if refused else 200,
    )


def _links(data) -> list[dict]:
    """The form's evidence rows: `act-ACT-reading` + `act-ACT-stance`, and for a source's
    information shown under an act `info-ACT-INFO-reading` + `…-stance` (an event's source is
    shown under each of its acts: the same choice twice is one link). A row with no reading
    chosen is no link."""
    links: list[dict] = []
    for key in sorted(data):
        if not key.endswith("-reading") or not data.get(key):
            continue
        kind, _sep, rest = key.partition("-")
        row = rest[: -len("-reading")]
        if kind not in ("act", "info") or not row:
            continue
        link = {
            "reading": data.get(key),
            "stance": data.get(f"{kind}-{row}-stance", ""),
            ("act" if kind == "act" else "information"): (
                row if kind == "act" else row.rsplit("-", 1)[-1]
            ),
        }
        if link not in links:
            links.append(link)
    return links


@login_required
@require_http_methods(["GET", "POST"])
def returnee_detail(request: StaffRequest, code: str) -> HttpResponse:
    user = request.user
    person = service.get_returnee(user, code)  # NotFound (404), audited
    errors: dict[str, str] = {}
    posted = request.POST if request.method == "POST" else None
    if posted is not None:
        try:  # analysts and auditors: AccessDenied (403) from the service
            row = service.record_determination(
                user,
                person,
                determination=posted.get("determination", ""),
                confidence=posted.get("confidence", ""),
                rationale=posted.get("rationale", ""),
                links=_links(posted),
            )
        except InvalidInput as exc:
            errors = exc.messages()
        else:
            messages.success(
                request, _("Saved: revision %(n)d is now the current one.") % {"n": row.revision}
            )
            return redirect("incidents:returnee", code=person.code)
    page = service.determination_page(user, person)
    link_errors = [message for key, message in errors.items() if key.startswith("links")]
    return render(
        request,
        "incidents/returns_detail.html",
        {
            "page": page,
            "can_record": service.can_record(user),
            "choices": service.determination_choices(),
            "confidences": Confidence.choices,
            "confidence_labels": dict(Confidence.choices),
            "stances": Stance.choices,
            "errors": errors,
            "link_errors": link_errors,
            "posted": posted,
            "show_names": user.sees_identities,
        },
        status=400 if errors else 200,
    )

"""Reports pages: the UN submission draft of a case (its form and the download).

Thin: the access checks and the audit are in the services below (a case this user may not
see is NotFound there and 404 here, never 403)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from jikimi.accounts.http import StaffRequest
from jikimi.cases import services as cases
from jikimi.core.errors import InvalidInput

from . import drafts


@login_required
@require_http_methods(["GET", "POST"])
def un_draft(request: StaffRequest, code: str) -> HttpResponse:
    """Choose a UN submission draft (body, language, format) and download it; the page says
    whether the family's consent to name the person is recorded."""
    values = {"body": "sr_dprk", "language": request.LANGUAGE_CODE[:2], "format": "pdf"}
    errors: dict = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            out = drafts.generate(
                request.user,
                code,
                body=values["body"],
                language=values["language"],
                fmt=values["format"],
            )
        except InvalidInput as exc:
            errors = exc.messages()
        else:
            response = HttpResponse(out.content, content_type=out.content_type)
            response["Content-Disposition"] = f'attachment; filename="{out.filename}"'
            return response
    case = cases.get_case(request.user, code, purpose="un_draft_page")
    disclosed, consent = drafts.consent_status(case.person)
    # What fills the place, date and perpetrators: the linked acts this user may see.
    acts = [drafts.act_line(linked) for linked in drafts.linked_acts(request.user, case)]
    return render(
        request,
        "reports/un_draft.html",
        {
            "case": case,
            "disclosed": disclosed,
            "consent": consent,
            "acts": acts,
            "bodies": [(k, str(v)) for k, v in drafts.BODIES.items()],
            "languages": list(drafts.LANGUAGES.items()),
            "formats": [("pdf", "PDF"), ("docx", "DOCX (Word)")],
            "values": values,
            "errors": errors,
        },
        status=400 if errors else 200,
    )

"""Drafts of UN submissions filled from a case (issue #15 item 3), for staff to review and
send themselves: a download, never a sending.

Two bodies:

- ``sr_dprk``: an urgent appeal to the Special Rapporteur on the situation of human rights
  in the DPRK (OHCHR special procedures communication: the alleged victim, the date, place
  and circumstances, the alleged perpetrators, the State(s) concerned, the steps taken at
  home, who submits, and the victim's or family's consent).
- ``wgeid``: a submission to the Working Group on Enforced or Involuntary Disappearances,
  after its standard form: the identity of the disappeared person (name, sex, date of
  birth, nationality, occupation), the date and place of the arrest, abduction or
  disappearance, the forces (believed) responsible and whether they are State or
  State-supported, the action taken by the family (domestic remedies), the identity of the
  submitting person or organisation, and the family's consent.

The identity (names, birth date or year, province of origin) is filled ONLY if the person's
or family's consent to disclose it in a UN submission is recorded (people consent purpose
``un_submission``); otherwise a placeholder stands in its place and the draft carries a
warning. Every generation is audited: who, which case, which body, language and format,
with or without identity.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext, override, pgettext
from django.utils.translation import pgettext_lazy as _p

from jikimi.accounts.models import User
from jikimi.core.errors import InvalidInput
from jikimi.people import services as people
from jikimi.people.models import Consent

from . import services
from .models import CaseStatus, Channel

CTX = "un draft"
BODIES = {
    "sr_dprk": _p(
        CTX, "Urgent appeal to the Special Rapporteur on the situation of human rights in the DPRK"
    ),
    "wgeid": _p(CTX, "Submission to the Working Group on Enforced or Involuntary Disappearances"),
}
LANGUAGES = {"en": "English", "ko": "한국어"}
FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
CONSENT_PURPOSE = "un_submission"
FONT = Path(__file__).parent / "fonts" / "NotoSansKR-Regular-subset.ttf"
#: Statuses that mark the person as taken or lost: the first one dates the disappearance.
TAKEN = {
    CaseStatus.DETAINED,
    CaseStatus.AT_RISK,
    CaseStatus.REPATRIATED,
    CaseStatus.UNKNOWN,
}


def _t(text: str) -> str:
    return pgettext(CTX, text)


def withheld() -> str:
    return _t("[withheld: no consent recorded]")


def to_complete() -> str:
    return _t("[to be completed by staff]")


@dataclass
class Section:
    heading: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class Draft:
    body: str
    language: str
    title: str
    case_code: str
    identity_disclosed: bool
    warnings: list[str]
    sections: list[Section]

    def text(self) -> str:
        """The whole draft as plain text (for the page's preview and the tests)."""
        out = [self.title, *self.warnings]
        for s in self.sections:
            out.append(s.heading)
            out += [f"{k}: {v}" for k, v in s.fields]
            out += s.lines
        return "\n".join(out)


def _choice(errors: dict, name: str, value: object, allowed) -> str:
    value = str(value or "")
    if value not in allowed:
        errors[name] = _t("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}
    return value


def consent_status(person) -> tuple[bool, Consent | None]:
    """(disclosure allowed, the consent row in force or None)."""
    consent = people.current_consents(person).get(CONSENT_PURPOSE)
    return bool(consent and consent.granted), consent


def _identity(user: User, case, allowed: bool) -> list[tuple[str, str]]:
    person = case.person
    names: list[str] = []
    birth_dates: list[str] = []
    if allowed:
        for row in people.identities_of(user, person):
            if row["kind"] == "name" and row["value"]:
                names.append(row["value"])
            elif row["kind"] == "birth_date" and row["value"]:
                birth_dates.append(row["value"])
        if not names and person.display_name:
            names.append(person.display_name)
    sex = {"M": _t("Male"), "F": _t("Female")}.get(person.sex, to_complete())
    if allowed:
        name = " / ".join(dict.fromkeys(names)) or to_complete()
        born = ", ".join(birth_dates) or (str(person.birth_year) if person.birth_year else "")
        born = born or to_complete()
        province = person.province or to_complete()
    else:
        name = born = province = withheld()
    return [
        (_t("Full name (and other names used)"), name),
        (_t("Sex"), sex),
        (_t("Date of birth"), born),
        (_t("Nationality"), _t("Democratic People's Republic of Korea")),
        (_t("Province of origin"), province),
        (_t("Occupation"), to_complete() if allowed else withheld()),
    ]


def _history(case) -> tuple[list[str], str]:
    changes = list(case.status_changes.order_by("at"))
    lines = []
    taken = ""
    for ch in changes:
        old = CaseStatus(ch.from_status).label if ch.from_status else "—"
        new = CaseStatus(ch.to_status).label
        lines.append(f"{ch.at:%Y-%m-%d}: {old} → {new} ({gettext(ch.reason)})")
        if not taken and ch.to_status in TAKEN:
            taken = f"{ch.at:%Y-%m-%d}"
    return lines, taken


def _actions(case) -> list[str]:
    lines = []
    for a in case.actions.order_by("date", "created_at"):
        line = f"{a.date:%Y-%m-%d} — {Channel(a.channel).label}: {a.description}"
        if a.outcome:
            line += f" — {_t('Outcome')}: {a.outcome}"
        if a.next_step:
            line += f" — {_t('Next step')}: {a.next_step}"
        lines.append(line)
    return lines or [_t("No action recorded yet.")]


def build_draft(user: User, code: str, *, body: str, language: str) -> Draft:
    """The draft's content, in `language`, from the case this user may see (NotFound, i.e.
    404, for another organisation's case). Validates before it reads."""
    return _build(user, code, body, language, {})[1]


def _build(user: User, code: str, body: str, language: str, errors: dict):
    body = _choice(errors, "body", body, BODIES)
    language = _choice(errors, "language", language, LANGUAGES)
    if errors:
        raise InvalidInput(errors)
    case = services.get_case(user, code, purpose="un_draft")
    with override(language):
        return case, _compose(user, case, body, language)


def _compose(user: User, case, body: str, language: str) -> Draft:
    allowed, consent = consent_status(case.person)
    warnings = []
    if not allowed:
        warnings.append(
            _t(
                "No consent of the person or family to disclose the identity in a UN "
                "submission is recorded: name, date of birth and origin are withheld. "
                "Record the consent on the person's page before naming them."
            )
        )
    history, taken = _history(case)
    kind = case.get_kind_display()
    status = case.get_status_display()
    victim = Section(_t("Identity of the person concerned"), _identity(user, case, allowed))
    facts = Section(
        _t("Date, place and circumstances"),
        [
            (_t("Our case reference"), case.code),
            (_t("Kind of case"), str(kind)),
            (_t("Current status"), str(status)),
            (_t("Date of arrest, detention or disappearance"), taken or to_complete()),
            (_t("Reported to our organisation on"), f"{case.created_at:%Y-%m-%d}"),
            (_t("Place (arrest, detention or last seen)"), to_complete()),
            (_t("Linked act or incident"), case.source_ref or _t("none recorded")),
        ],
        [
            _t("Circumstances (from the case notes, review before sending):"),
            case.notes or to_complete(),
            _t("Status history:"),
            *history,
        ],
    )
    forces = Section(
        _t("Forces believed responsible"),
        [
            (_t("Forces (believed) responsible"), to_complete()),
            (_t("State or State-supported forces"), to_complete()),
            (_t("State(s) concerned"), to_complete()),
        ],
    )
    remedies = Section(
        _t("Action taken by the family and by us (domestic remedies)"), lines=_actions(case)
    )
    org = case.organisation
    submitter = Section(
        _t("Identity of the person or organisation submitting"),
        [
            (_t("Organisation"), org.name),
            (_t("Prepared by"), user.get_full_name() or user.get_username()),
            (_t("Date of this draft"), f"{timezone.now():%Y-%m-%d}"),
            (_t("Confidentiality"), _t("We ask that the source be kept confidential.")),
        ],
    )
    if allowed and consent is not None:
        consent_text = _t("Recorded on %(date)s (%(method)s).") % {
            "date": f"{consent.recorded_at:%Y-%m-%d}",
            "method": consent.method or "—",
        }
    else:
        consent_text = withheld()
    consent_sec = Section(
        _t("Consent of the person or family"),
        [(_t("Consent to submit and disclose the identity"), consent_text)],
    )
    if body == "sr_dprk":
        request = Section(
            _t("Urgency and what we ask"),
            lines=[
                _t(
                    "The person is at risk of forced repatriation to the DPRK, where they "
                    "face arbitrary detention, torture and other serious violations."
                ),
                _t(
                    "We ask the Special Rapporteur to address an urgent appeal to the "
                    "States concerned: to disclose the person's fate and whereabouts, to "
                    "respect the principle of non-refoulement and to allow access by "
                    "UNHCR, family and counsel."
                ),
            ],
        )
        sections = [victim, facts, forces, remedies, request, submitter, consent_sec]
        to = _t(
            "To: Special Rapporteur on the situation of human rights in the Democratic "
            "People's Republic of Korea, OHCHR, Geneva"
        )
    else:
        sections = [victim, facts, forces, remedies, submitter, consent_sec]
        to = _t("To: Working Group on Enforced or Involuntary Disappearances, OHCHR, Geneva")
    sections.insert(0, Section(_t("Addressee"), lines=[to, _t("DRAFT — review before sending")]))
    return Draft(
        body=body,
        language=language,
        title=str(BODIES[body]),
        case_code=case.code,
        identity_disclosed=allowed,
        warnings=warnings,
        sections=sections,
    )


# --- Rendering ------------------------------------------------------------------------------


def render_pdf(draft: Draft) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("noto", "", str(FONT))
    pdf.set_title(draft.title)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 10, gap: float = 1.5) -> None:
        pdf.set_font("noto", size=size)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(width, size * 0.5, text, align="L")
        pdf.ln(gap)

    para(draft.title, 15, 3)
    for warning in draft.warnings:
        pdf.set_text_color(170, 0, 0)
        para(warning, 10, 3)
        pdf.set_text_color(0, 0, 0)
    for section in draft.sections:
        pdf.ln(2)
        para(section.heading, 12.5, 1.5)
        for label, value in section.fields:
            para(f"{label}: {value}")
        for line in section.lines:
            para(line)
    return bytes(pdf.output())


def render_docx(draft: Draft) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import RGBColor

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans KR"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans KR")
    doc.core_properties.title = draft.title
    doc.add_heading(draft.title, level=1)
    for warning in draft.warnings:
        run = doc.add_paragraph().add_run(warning)
        run.font.color.rgb = RGBColor(0xAA, 0, 0)
        run.bold = True
    for section in draft.sections:
        doc.add_heading(section.heading, level=2)
        for label, value in section.fields:
            p = doc.add_paragraph()
            p.add_run(f"{label}: ").bold = True
            p.add_run(value)
        for line in section.lines:
            doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@dataclass
class DraftFile:
    filename: str
    content_type: str
    content: bytes
    draft: Draft


def generate(user: User, code: str, *, body: str, language: str, fmt: str) -> DraftFile:
    """The draft as a file, audited (who, case, body, language, format, with identity)."""
    errors: dict = {}
    fmt = _choice(errors, "format", fmt, FORMATS)
    case, draft = _build(user, code, body, language, errors)
    content = render_pdf(draft) if fmt == "pdf" else render_docx(draft)
    services._audit(
        user,
        "case.un_draft",
        case,
        body=draft.body,
        language=draft.language,
        format=fmt,
        identity=draft.identity_disclosed,
    )
    name = f"{draft.case_code}-{draft.body}-{draft.language}.{fmt}"
    return DraftFile(name, FORMATS[fmt], content, draft)

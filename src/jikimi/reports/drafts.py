"""Drafts of UN submissions filled from a case (issue #15), for staff to review and send
themselves: a download, never a sending.

The reports app (layer 6) composes them from the layers below, read through their services
with the viewer's access checks: the case (`cases.services.case_record`), the person and
consent (`people.services`) and the case's linked incident acts (`incidents.services`): the
acts of the case's person in the event its `source_ref` names ("incident E-…") and any other
act of that person the viewer's organisation recorded. An act the viewer cannot see (another
organisation's event, a case seen through a referral) is not used. The linked acts fill where
and when the person was arrested, abducted or disappeared (place names in the draft's
language, the date with its precision), the perpetrators with their degree of involvement
and the sources' grades (the kind of source only: a named source stays confidential).

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
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext, override, pgettext
from django.utils.translation import pgettext_lazy as _p

from jikimi.accounts.models import User
from jikimi.cases import services as cases
from jikimi.cases.models import CaseStatus
from jikimi.core.codes import is_public_code
from jikimi.core.errors import InvalidInput, NotFound
from jikimi.incidents import services as incidents
from jikimi.people import services as people
from jikimi.people.models import Consent

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


#: Act types that take or lose the person, in the order one dates the case by.
TAKING_ACTS = ("arrest", "abduction", "disappearance", "forced_repatriation")
#: Perpetrators of the vocabulary that are State agents, and their State.
STATE_OF = {
    "state_security_department": "kp",
    "reconnaissance_general_bureau": "kp",
    "ministry_of_social_security": "kp",
    "chinese_public_security_bureau": "cn",
}
STATES = {
    "kp": _p(CTX, "Democratic People's Republic of Korea"),
    "cn": _p(CTX, "People's Republic of China"),
}
#: At most this many events are read for one draft.
MAX_EVENTS = 20
_CODE = re.compile(r"\b[A-Za-z]-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}\b")


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
    acts: list[str]
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


def _history(record: cases.CaseRecord) -> tuple[list[str], str]:
    lines = []
    taken = ""
    for ch in record.history:
        old = ch.get_from_status_display() if ch.from_status else "—"
        new = ch.get_to_status_display()
        lines.append(f"{ch.at:%Y-%m-%d}: {old} → {new} ({gettext(ch.reason)})")
        if not taken and ch.to_status in TAKEN:
            taken = f"{ch.at:%Y-%m-%d}"
    return lines, taken


def _actions(record: cases.CaseRecord) -> list[str]:
    lines = []
    for a in record.actions:
        line = f"{a.date:%Y-%m-%d} — {a.get_channel_display()}: {a.description}"
        if a.outcome:
            line += f" — {_t('Outcome')}: {a.outcome}"
        if a.next_step:
            line += f" — {_t('Next step')}: {a.next_step}"
        lines.append(line)
    return lines or [_t("No action recorded yet.")]


# --- The linked incident acts ---------------------------------------------------------------


@dataclass
class LinkedAct:
    """An act of the case's person the viewer may see, with the involvements and graded
    sources of the act and of its whole event."""

    act: incidents.ActRow
    involvements: list[incidents.InvolvementRow]
    information: list[incidents.InformationRow]


def event_codes(source_ref: str) -> list[str]:
    """The event codes ("E-XXXX-XXXX") a case's `source_ref` names, in order."""
    found = [m.upper() for m in _CODE.findall(source_ref or "")]
    return list(dict.fromkeys(c for c in found if c.startswith("E-") and is_public_code(c)))


def linked_acts(user: User, case) -> list[LinkedAct]:
    """The acts of the case's person in the events linked to the case, read through the
    incident services with this user's access: another organisation's event is NotFound
    there and left out here. Oldest first."""
    person = case.person
    codes = event_codes(case.source_ref)
    codes += [a.event for a in incidents.acts_of_person(user, person)]
    out: list[LinkedAct] = []
    for code in list(dict.fromkeys(codes))[:MAX_EVENTS]:
        try:
            event = incidents.get_event(user, code)
        except NotFound:
            continue
        detail = incidents.event_detail(user, event)
        for act in detail.acts:
            if act.victim == person.code:
                out.append(
                    LinkedAct(
                        act,
                        [*act.involvements, *detail.involvements],
                        [*act.information, *detail.information],
                    )
                )
    out.sort(key=lambda linked: (linked.act.date_start, linked.act.date_end, linked.act.id))
    return out


def when(act: incidents.ActRow) -> str:
    """The act's date as written with its precision: "2017-07-15 (known to the day)",
    "between 2017-07-15 and 2017-07-16 (…)", "2018-06 (known to the month)",
    "2016 (approximate, known to the year)"."""
    fmt = {"day": "%Y-%m-%d", "month": "%Y-%m"}.get(act.date_precision, "%Y")
    start, end = act.date_start.strftime(fmt), act.date_end.strftime(fmt)
    text = (
        start
        if start == end
        else _t("between %(start)s and %(end)s") % {"start": start, "end": end}
    )
    note = {
        "day": _t("known to the day"),
        "month": _t("known to the month"),
    }.get(act.date_precision, _t("known to the year"))
    if act.date_approx:
        note = _t("approximate, %(precision)s") % {"precision": note}
    return f"{text} ({note})"


def where(act: incidents.ActRow) -> str:
    if act.place is not None:
        return act.place.label
    if act.lat is not None and act.lon is not None:
        return _t("coordinates %(lat).2f, %(lon).2f") % {"lat": act.lat, "lon": act.lon}
    return ""


def perpetrators(involvements: list[incidents.InvolvementRow]) -> list[str]:
    """ "Chinese Public Security Bureau (Carried out)", each once, in order."""
    out = []
    for inv in involvements:
        label = inv.perpetrator.label
        if inv.degree is not None:
            label = f"{label} ({inv.degree.label})"
        out.append(label)
    return list(dict.fromkeys(out))


def grades(information: list[incidents.InformationRow]) -> list[str]:
    """Each source's kind and grades ("Family report: source A, information 2"); a named
    source is not named (the draft asks the UN to keep sources confidential)."""
    out = []
    for info in information:
        kind = info.source_kind.label if info.source_kind else _t("Named source (confidential)")
        out.append(
            _t("%(source)s: source %(reliability)s, information %(credibility)s")
            % {
                "source": kind,
                "reliability": info.reliability or "—",
                "credibility": info.credibility or "—",
            }
        )
    return list(dict.fromkeys(out))


def act_line(linked: LinkedAct) -> str:
    act = linked.act
    parts = [when(act), act.act_type.label]
    if place := where(act):
        parts.append(place)
    if forces := perpetrators(linked.involvements):
        parts.append(_t("by %(forces)s") % {"forces": "; ".join(forces)})
    if sources := grades(linked.information):
        parts.append(_t("sources: %(sources)s") % {"sources": "; ".join(sources)})
    return " — ".join(parts)


def _primary(acts: list[LinkedAct]) -> LinkedAct | None:
    """The act that took or lost the person: the earliest of the first type of
    TAKING_ACTS that occurs (an arrest before a repatriation that followed it)."""
    for code in TAKING_ACTS:
        for linked in acts:
            if linked.act.act_type.code == code:
                return linked
    return None


def _forces(acts: list[LinkedAct]) -> list[tuple[str, str]]:
    involvements = [inv for linked in acts for inv in linked.involvements]
    named = perpetrators(involvements)
    state_agents = [inv for inv in involvements if inv.perpetrator.code in STATE_OF]
    states = list(dict.fromkeys(STATE_OF[inv.perpetrator.code] for inv in state_agents))
    state_forces = list(dict.fromkeys(inv.perpetrator.label for inv in state_agents))
    if state_forces:
        state = _t("Yes, State agents: %(forces)s") % {"forces": "; ".join(state_forces)}
    else:
        state = to_complete()
    concerned = [str(STATES[code]) for code in states]
    if concerned and str(STATES["kp"]) not in concerned:
        concerned.append(str(STATES["kp"]))  # the person's State of nationality
    return [
        (_t("Forces (believed) responsible"), "; ".join(named) or to_complete()),
        (_t("State or State-supported forces"), state),
        (_t("State(s) concerned"), "; ".join(concerned) or to_complete()),
    ]


def build_draft(user: User, code: str, *, body: str, language: str) -> Draft:
    """The draft's content, in `language`, from the case this user may see (NotFound, i.e.
    404, for another organisation's case). Validates before it reads."""
    return _build(user, code, body, language, {})[1]


def _build(user: User, code: str, body: str, language: str, errors: dict):
    body = _choice(errors, "body", body, BODIES)
    language = _choice(errors, "language", language, LANGUAGES)
    if errors:
        raise InvalidInput(errors)
    record = cases.case_record(user, code, purpose="un_draft")
    with override(language):
        # Under the draft's language: the incident services label places and terms in it.
        acts = linked_acts(user, record.case)
        return record.case, _compose(user, record, acts, body, language)


def _compose(
    user: User, record: cases.CaseRecord, acts: list[LinkedAct], body: str, language: str
) -> Draft:
    case = record.case
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
    history, taken = _history(record)
    kind = case.get_kind_display()
    status = case.get_status_display()
    primary = _primary(acts)
    if primary is not None:
        date = f"{when(primary.act)} — {primary.act.act_type.label}"
        place = where(primary.act) or to_complete()
    else:
        date, place = taken or to_complete(), to_complete()
    victim = Section(_t("Identity of the person concerned"), _identity(user, case, allowed))
    facts = Section(
        _t("Date, place and circumstances"),
        [
            (_t("Our case reference"), case.code),
            (_t("Kind of case"), str(kind)),
            (_t("Current status"), str(status)),
            (_t("Date of arrest, detention or disappearance"), date),
            (_t("Reported to our organisation on"), f"{case.created_at:%Y-%m-%d}"),
            (_t("Place (arrest, detention or last seen)"), place),
            (_t("Linked act or incident"), case.source_ref or _t("none recorded")),
        ],
        [
            _t("Circumstances (from the case notes, review before sending):"),
            case.notes or to_complete(),
            _t("Acts documented (date, act, place, perpetrators, graded sources):"),
            *([act_line(linked) for linked in acts] or [_t("No linked act recorded.")]),
            _t(
                "Source grades: source reliability A (completely reliable) to F (cannot be "
                "judged); information credibility 1 (confirmed) to 6 (cannot be judged)."
            ),
            _t("Status history:"),
            *history,
        ],
    )
    forces = Section(_t("Forces believed responsible"), _forces(acts))
    remedies = Section(
        _t("Action taken by the family and by us (domestic remedies)"), lines=_actions(record)
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
        acts=[linked.act.id for linked in acts],
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
    cases.record_un_draft(
        user,
        case,
        body=draft.body,
        language=draft.language,
        format=fmt,
        identity=draft.identity_disclosed,
        acts=len(draft.acts),
    )
    name = f"{draft.case_code}-{draft.body}-{draft.language}.{fmt}"
    return DraftFile(name, FORMATS[fmt], content, draft)

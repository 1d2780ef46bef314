"""The UN submission drafts (issue #15 item 3): the text extracted from the generated PDF
and DOCX holds the case's facts, and the identity only with the recorded consent; Korean
round-trips through the embedded font; 404 across organisations; every generation audited."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from docx import Document
from pypdf import PdfReader

from jikimi.audit.models import AuditEvent
from jikimi.cases import drafts, services
from jikimi.people import services as people

pytestmark = pytest.mark.django_db

NAME = "리영호"
BORN = "1979-03-14"


def _pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    # pypdf spaces out the glyphs of a CFF font: compare without white space.
    return re.sub(r"\s+", "", text)


def _docx_text(content: bytes) -> str:
    return re.sub(r"\s+", "", "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def facts(staff, person, case):
    worker = staff["caseworker"]
    people.add_identity(worker, person, kind="birth_date", value=BORN)
    services.change_status(
        worker, case.code, status="at_risk_of_repatriation", reason="송환 임박 정보", expected_version=1
    )
    services.log_action(
        worker,
        case.code,
        channel="ministry_of_foreign_affairs",
        description="외교부에 신변 보호 요청",
        outcome="확인 불가 답변",
        date=date.today().isoformat(),
    )
    return case


def _extract(fmt: str, content: bytes) -> str:
    return _pdf_text(content) if fmt == "pdf" else _docx_text(content)


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
@pytest.mark.parametrize("body", ["sr_dprk", "wgeid"])
def test_without_consent_the_draft_has_the_facts_and_no_identity(staff, facts, fmt, body):
    out = drafts.generate(staff["caseworker"], facts.code, body=body, language="en", fmt=fmt)
    text = _extract(fmt, out.content)
    for fact in (facts.code, "도문변방구류소", "외교부에신변보호요청", "확인불가답변", "송환임박정보"):
        assert fact in text, fact
    assert _squash("Ministry of Foreign Affairs") in text
    assert _squash("At risk of repatriation") in text
    assert NAME not in text and BORN not in text and "1979" not in text
    assert _squash("[withheld: no consent recorded]") in text
    assert _squash("No consent of the person or family") in text
    assert out.draft.identity_disclosed is False
    event = AuditEvent.objects.filter(action="case.un_draft").latest("id")
    assert event.detail["identity"] is False and event.detail["format"] == fmt
    assert event.detail["body"] == body and event.actor_id == staff["caseworker"].pk


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_with_the_recorded_consent_the_identity_is_filled(staff, person, facts, fmt):
    people.record_consent(
        staff["caseworker"], person, purpose="un_submission", granted=True, method="family, written"
    )
    out = drafts.generate(staff["caseworker"], facts.code, body="wgeid", language="en", fmt=fmt)
    text = _extract(fmt, out.content)
    assert NAME in text and BORN in text and "family,written" in text
    assert _squash("[withheld: no consent recorded]") not in text
    assert AuditEvent.objects.filter(action="case.un_draft").latest("id").detail["identity"]


def test_a_withdrawn_consent_withholds_the_identity_again(staff, person, facts):
    worker = staff["caseworker"]
    people.record_consent(worker, person, purpose="un_submission", granted=True, method="verbal")
    people.record_consent(worker, person, purpose="un_submission", granted=False, method="verbal")
    out = drafts.generate(worker, facts.code, body="sr_dprk", language="ko", fmt="docx")
    assert NAME not in _docx_text(out.content)


def test_the_korean_pdf_round_trips_hangul(staff, person, facts):
    people.record_consent(
        staff["caseworker"], person, purpose="un_submission", granted=True, method="written"
    )
    out = drafts.generate(staff["caseworker"], facts.code, body="sr_dprk", language="ko", fmt="pdf")
    text = _pdf_text(out.content)
    assert NAME in text and "도문변방구류소" in text
    # The document's own words are Korean too (the catalog), not only the case's.
    assert "UrgentappealtotheSpecialRapporteur" not in text
    assert "북한인권특별보고관에게보내는긴급호소" in text and "[비공개:기록된동의없음]" not in text
    # The font travels with the file (a subset of it: the PDF stays small).
    assert b"/FontFile2" in out.content and len(out.content) < 200_000
    assert out.filename == f"{facts.code}-sr_dprk-ko.pdf"


def test_another_organisation_gets_not_found_and_bad_choices_name_the_field(staff, case):
    from jikimi.core.errors import InvalidInput, NotFound

    with pytest.raises(NotFound):
        drafts.generate(staff["outsider"], case.code, body="wgeid", language="en", fmt="pdf")
    assert not AuditEvent.objects.filter(action="case.un_draft").exists()
    with pytest.raises(InvalidInput) as bad:
        drafts.generate(staff["caseworker"], case.code, body="un", language="fr", fmt="rtf")
    assert set(bad.value.errors) == {"body", "language", "format"}

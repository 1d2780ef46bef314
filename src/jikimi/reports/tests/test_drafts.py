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
from jikimi.cases import services
from jikimi.people import services as people
from jikimi.reports import drafts

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
        worker,
        case.code,
        status="at_risk_of_repatriation",
        reason="송환 임박 정보",
        expected_version=1,
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
    for fact in (
        facts.code,
        "도문변방구류소",
        "외교부에신변보호요청",
        "확인불가답변",
        "송환임박정보",
    ):
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


def test_the_page_warns_without_consent_and_downloads_the_chosen_draft(client, login, staff, facts):
    login(client, staff["caseworker"])
    assert "유엔 제출서 초안" in client.get(f"/cases/{facts.code}/").content.decode()
    page = client.get(f"/cases/{facts.code}/un-draft")
    html = page.content.decode()
    assert page.status_code == 200 and "동의가 기록되어 있지 않습니다" in html
    answer = client.post(
        f"/cases/{facts.code}/un-draft", {"body": "wgeid", "language": "ko", "format": "docx"}
    )
    assert answer.status_code == 200
    assert answer["Content-Type"] == drafts.FORMATS["docx"]
    assert f"{facts.code}-wgeid-ko.docx" in answer["Content-Disposition"]
    text = _docx_text(answer.content)
    assert "강제적·비자발적실종에관한실무그룹" in text and "외교부에신변보호요청" in text
    assert NAME not in text and "[비공개:기록된동의없음]" in text
    refused = client.post(
        f"/cases/{facts.code}/un-draft", {"body": "", "language": "ko", "format": "pdf"}
    )
    assert refused.status_code == 400 and "다음 중 하나를 고르십시오" in refused.content.decode()


def test_the_page_says_when_consent_is_recorded(client, login, staff, person, facts):
    people.record_consent(
        staff["caseworker"], person, purpose="un_submission", granted=True, method="written"
    )
    login(client, staff["caseworker"])
    html = client.get(f"/cases/{facts.code}/un-draft").content.decode()
    assert "초안에 당사자의 이름이 들어갑니다" in html and "written" in html


def test_the_page_is_404_for_another_organisation(client, login, staff, case):
    login(client, staff["outsider"])
    assert client.get(f"/cases/{case.code}/un-draft").status_code == 404
    form = {"body": "wgeid", "language": "en", "format": "pdf"}
    assert client.post(f"/cases/{case.code}/un-draft", form).status_code == 404


def test_the_api_gives_the_file_and_404_across_organisations(api, staff, facts):
    url = f"/api/cases/{facts.code}/un-draft/"
    answer = api("caseworker").get(url, {"body": "sr_dprk", "language": "en", "file_format": "pdf"})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer["X-Identity-Disclosed"] == "false"
    text = _pdf_text(answer.content)
    assert facts.code in text and NAME not in text and "외교부에신변보호요청" in text
    bad = api("caseworker").get(url, {"body": "x", "file_format": "odt"})
    assert bad.status_code == 400 and set(bad.json()) >= {"body", "file_format"}
    assert api("outsider").get(url, {"body": "wgeid"}).status_code == 404

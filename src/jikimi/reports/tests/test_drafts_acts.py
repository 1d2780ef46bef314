"""The UN drafts filled from the case's linked incident acts (issue #15): where and when the
person was arrested (place in the draft's language, date with its precision), the
perpetrators with their degree of involvement and the sources' grades, read from the text of
the generated PDF and DOCX; acts the viewer may not see (another organisation's event, a
case seen through a referral) and acts of other victims are not used. Synthetic data."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from pypdf import PdfReader

from jikimi.audit.models import AuditEvent
from jikimi.cases import services
from jikimi.incidents import services as incidents
from jikimi.people import services as people
from jikimi.reports import drafts

pytestmark = pytest.mark.django_db

NAME = "리영호"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(fmt: str, content: bytes) -> str:
    if fmt == "pdf":
        pages = PdfReader(io.BytesIO(content)).pages
        return _squash("".join(page.extract_text() for page in pages))
    return _squash("\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs))


def _arrest(user, victim_code: str, **over):
    fields = {
        "title": "Arrest after crossing (synthetic)",
        "date": "2017-07-15",
        "place": "Tumen",
        "acts": [
            {
                "act_type": "arrest",
                "victim": victim_code,
                "involvements": [
                    {"perpetrator": "chinese_public_security_bureau", "involvement": "carried_out"}
                ],
                "information": [
                    {
                        "source": "family_report",
                        "source_reliability": "B",
                        "information_credibility": "2",
                    }
                ],
            }
        ],
    }
    fields.update(over)
    return incidents.record_event(user, **fields)


def _link(user, case, *codes: str) -> None:
    current = services.get_case(user, case.code)
    services.update_case(
        user,
        case.code,
        expected_version=current.version,
        source_ref="incident " + ", ".join(codes),
    )


@pytest.fixture
def arrested(staff, person, case):
    worker = staff["caseworker"]
    event = _arrest(worker, person.code)
    _link(worker, case, event.code)
    return event


EXPECTED = {
    "en": [
        "Tumen",
        "2017-07-15(knowntotheday)",
        "Arrestordetention",
        "ChinesePublicSecurityBureau(Carriedout)",
        "Familyreport:sourceB,information2",
        "Yes,Stateagents:ChinesePublicSecurityBureau",
        "People'sRepublicofChina",
    ],
    "ko": [
        "투먼",
        "2017-07-15(일단위까지확인)",
        "체포·구금",
        "중국공안(실행)",
        "가족제보:출처신뢰도B,정보신빙성2",
        "예,국가기관:중국공안",
        "중화인민공화국",
    ],
}


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("body", ["sr_dprk", "wgeid"])
def test_the_draft_has_the_place_date_perpetrators_and_grades_of_the_arrest(
    staff, arrested, case, fmt, language, body
):
    out = drafts.generate(staff["caseworker"], case.code, body=body, language=language, fmt=fmt)
    text = _text(fmt, out.content)
    for fact in EXPECTED[language]:
        assert fact in text, (fact, text)
    assert arrested.code in text
    # Still no identity without the recorded consent.
    assert NAME not in text and "1979" not in text and out.draft.identity_disclosed is False
    event = AuditEvent.objects.filter(action="case.un_draft").latest("id")
    assert event.detail["acts"] == 1 and event.detail["identity"] is False


def test_with_consent_the_identity_and_the_acts_are_both_there(staff, person, arrested, case):
    people.record_consent(
        staff["caseworker"], person, purpose="un_submission", granted=True, method="written"
    )
    out = drafts.generate(staff["caseworker"], case.code, body="wgeid", language="ko", fmt="pdf")
    text = _text("pdf", out.content)
    assert NAME in text and "투먼" in text and "중국공안(실행)" in text


def test_another_organisations_event_named_by_the_case_is_not_used(staff, person, case):
    outsider = staff["outsider"]
    theirs = people.create_person(outsider, name="Synthetic Beta", birth_year=1990, sex="F")
    other = _arrest(
        outsider,
        theirs.code,
        place="Yanji",
        date="2019-02-03",
        acts=[
            {
                "act_type": "abduction",
                "victim": theirs.code,
                "involvements": [
                    {"perpetrator": "state_security_department", "involvement": "ordered"}
                ],
            }
        ],
    )
    # The case names the other organisation's event (typed in): it is not shared.
    _link(staff["caseworker"], case, other.code)
    for fmt in ("pdf", "docx"):
        out = drafts.generate(staff["caseworker"], case.code, body="wgeid", language="en", fmt=fmt)
        text = _text(fmt, out.content)
        for fact in ("Yanji", "StateSecurityDepartment", "2019-02-03", "Abduction", "Ordered"):
            assert fact not in text, fact
        assert "Nolinkedactrecorded." in text and out.draft.acts == []


def test_a_referred_case_does_not_show_the_senders_acts_to_the_receiver(
    staff, person, arrested, case
):
    worker, outsider = staff["caseworker"], staff["outsider"]
    referral = services.propose_referral(
        worker,
        case.code,
        to_organisation="beta",
        consent_basis="family_consent",
        consent_note="family agreed by phone (synthetic)",
    )
    services.accept_referral(outsider, referral.code)
    out = drafts.generate(outsider, case.code, body="sr_dprk", language="en", fmt="docx")
    text = _text("docx", out.content)
    assert case.code in text
    assert "Tumen" not in text and "ChinesePublicSecurityBureau" not in text
    assert out.draft.acts == []
    # The sender still sees its own act.
    mine = drafts.generate(worker, case.code, body="sr_dprk", language="en", fmt="docx")
    assert "Tumen" in _text("docx", mine.content)


def test_only_the_case_persons_acts_are_used_and_the_precision_is_said(staff, person, case):
    worker = staff["caseworker"]
    someone = people.create_person(worker, name="Synthetic Gamma", birth_year=1985, sex="M")
    event = incidents.record_event(
        worker,
        title="Group taken near the river (synthetic)",
        date="2018-06",
        date_approx=True,
        place="Helong",
        acts=[
            {
                "act_type": "disappearance",
                "victim": person.code,
                "involvements": [{"perpetrator": "broker", "involvement": "assisted"}],
            },
            {
                "act_type": "abduction",
                "victim": someone.code,
                "involvements": [
                    {"perpetrator": "reconnaissance_general_bureau", "involvement": "ordered"}
                ],
            },
        ],
    )
    _link(worker, case, event.code)
    draft = drafts.build_draft(worker, case.code, body="wgeid", language="en")
    text = draft.text()
    assert "2018-06 (approximate, known to the month) — Disappearance" in text
    assert "Helong" in text and "Broker (Assisted)" in text
    assert "Reconnaissance General Bureau" not in text and "Abduction" not in text
    # A broker is not a State agent: that stays for staff to complete.
    assert "State or State-supported forces: [to be completed by staff]" in text


def test_a_range_of_days_and_the_act_of_the_person_found_without_a_source_ref(staff, person, case):
    worker = staff["caseworker"]
    _arrest(worker, person.code, date="2017-07-15/2017-07-16")
    # No source_ref: the person's own acts (of this organisation) are linked all the same.
    draft = drafts.build_draft(worker, case.code, body="sr_dprk", language="ko")
    assert "2017-07-15부터 2017-07-16 사이 (일 단위까지 확인)" in draft.text()


def test_the_page_lists_the_linked_acts_the_draft_uses(client, login, staff, arrested, case):
    login(client, staff["caseworker"])
    html = client.get(f"/cases/{case.code}/un-draft").content.decode()
    assert "초안에 들어가는 연결된 행위" in html
    assert "투먼" in html and "중국 공안 (실행)" in html and "2017-07-15" in html
    login(client, staff["supervisor"])  # same organisation: the same act
    assert "투먼" in client.get(f"/cases/{case.code}/un-draft").content.decode()


def test_the_page_says_when_no_linked_act_is_seen(client, login, staff, case):
    login(client, staff["caseworker"])
    html = client.get(f"/cases/{case.code}/un-draft").content.decode()
    assert "연결된 행위가 없습니다" in html

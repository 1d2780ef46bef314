"""Every API operation answers what the OpenAPI schema at /api/schema/ says it answers.

Schemathesis reads the schema the app serves (in-process, through the WSGI app) and sends
each operation a few generated requests with a supervisor's API token: once with path ids of
real objects (so the 200/201 bodies are checked), once with generated ids (404s), and once
with generated invalid input (400s). Every response must be no server error, have a status
code the schema documents for that operation, the documented content type, and a body that
validates against the documented schema of that status (error bodies included).

Few examples per operation and a derandomised Hypothesis, so the run is short and the same
every time. No operation is left out: what they create (people, enrolments, links, policies)
stays in the test's transaction, a few of each.
"""

from __future__ import annotations

from contextlib import contextmanager

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 4  # per operation and kind of run: enough to meet each answer, and quick


@contextmanager
def _one_transaction():
    """Django closes the connection when a WSGI request starts and ends (a connection not in
    autocommit counts as unusable, and the test's transaction is one); the test's transaction
    lives on it. Django's own test client turns both off the same way while it sends a
    request. (On SQLite's in-memory test database close() keeps the database, so only the
    PostgreSQL run showed it.)"""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_finished.connect(close_old_connections)
        request_started.connect(close_old_connections)


def _lists(org) -> None:
    """Two source lists that overlap, so GET /api/estimates/?lists=A,B has an estimate."""
    from jikimi.people.models import Person, SourceRecord

    people = Person.objects.bulk_create([Person(organisation=org) for _ in range(40)])
    on = [("A",)] * 10 + [("B",)] * 12 + [("A", "B")] * 18
    SourceRecord.objects.bulk_create(
        SourceRecord(person=p, organisation=org, source=s, record_id=f"fuzz-{i}-{s}")
        for i, (p, sources) in enumerate(zip(people, on, strict=True))
        for s in sources
    )


@pytest.fixture
def world(staff, orgs, monkeypatch, settings, tmp_path):
    """One of each object the API's paths name, visible to the supervisor of `alpha`, and two
    source lists for the estimates."""
    from jikimi.estimates import inapp

    settings.JIKIMI_HOME = tmp_path / "home"  # the evidence store

    monkeypatch.setattr(inapp, "default_cluster_of", lambda: lambda ids: {})  # no linkage run
    _lists(orgs[0])
    from jikimi.estimates import jobs

    job = jobs.create_job(staff["supervisor"], lists=["A", "B"], method="bma")
    from jikimi.alerts import services as alerts
    from jikimi.checkins import services as checkins
    from jikimi.linkage.models import PersonLink, ReviewItem
    from jikimi.people import services as people

    cw = staff["caseworker"]
    a = people.create_person(cw, name="김철수", birth_year=1980, sex="M", province="함경북도")
    b = people.create_person(cw, name="김철수", birth_year=1981, sex="M", province="함경북도")
    c = people.create_person(cw, name="박영희", birth_year=1990, sex="F", province="양강도")
    people.record_consent(cw, a, purpose="checkins", granted=True, method="written")
    enrolment = checkins.enrol(cw, a, interval_hours=24).enrolment
    item = ReviewItem.objects.create(person_a=a, person_b=b, score=0.8, levels={"name": "3"})
    link = PersonLink.objects.create(person_a=a, person_b=c, method="review", score=0.9)
    alert = alerts.raise_alert(
        organisation_id=cw.organisation_id,
        kind="channel_failure",
        key="fuzz",
        detail={"channel_kind": "sms", "channel": "1"},
    )
    policy = alerts.default_policy(cw.organisation)
    from jikimi.incidents import services as incidents

    event = incidents.record_event(
        cw,
        title="Arrest after crossing",
        date="2017-07-15",
        place="Tumen",
        acts=[
            {"act_type": "arrest", "victim": c.code},
            {"act_type": "forced_repatriation", "victim": c.code},  # c: a returnee
        ],
    )
    from jikimi.cases import services as cases

    case = cases.open_case(cw, a.code, kind="detained", status="detained")
    referral = cases.propose_referral(
        cw, case.code, to_organisation="beta", consent_basis="family_consent", consent_note="x"
    )
    import io

    from jikimi.incidents import evidence

    item = evidence.attach(cw, event.code, io.BytesIO(b"fuzz evidence"), file_name="scan.pdf")
    grant = incidents.share_event(cw, event, orgs[1], "fuzz")
    return {
        "event_code": event.code,
        "person_code": c.code,
        "evidence_id": str(item.pk),
        "code": a.code,
        "enrolment_id": str(enrolment.pk),
        "item_id": str(item.pk),
        "link_id": str(link.pk),
        "alert_id": alert.pk,
        "policy_id": policy.pk,
        "job_id": str(job.pk),
        "case_code": case.code,
        "deadline_id": case.deadlines.get().pk,
        "referral_code": referral.code,
        "kind": "detained",
        "grant_id": grant.pk,
    }


def _run(strategy, call) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=strategy)
    def run(case):
        call(case)

    run()


def _negatable(operation) -> bool:
    """Whether there is input to make invalid: a body, a query parameter, or a path id of a
    type (an integer, a UUID) that a plain string breaks."""
    return bool(
        len(operation.body)
        or len(operation.query)
        or any(p.definition.get("schema") != {"type": "string"} for p in operation.path_parameters)
    )


def test_every_operation_answers_as_the_schema_says(staff, world, api_token):
    key = api_token(staff["supervisor"])
    headers = {"Authorization": f"Token {key}", "Accept-Language": "en"}
    failures: list[str] = []
    answered: dict[str, set[int]] = {}

    def call(case):
        response = case.call(headers=headers)
        answered.setdefault(case.operation.label, set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    with _one_transaction():
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 20
        for operation in operations:
            names = {p.name for p in operation.path_parameters}
            assert names <= set(world), f"{operation.label}: give `world` a {names - set(world)}"
            real = {"path_parameters": {n: world[n] for n in names}}
            if operation.label == "GET /api/estimates/":
                real["query"] = {"lists": "A,B"}
            runs = [
                ("real ids", real),
                ("generated ids", {}),
            ]
            if _negatable(operation):
                runs.append(("invalid input", {"generation_mode": GenerationMode.NEGATIVE}))
            for label, kwargs in runs:
                try:
                    _run(operation.as_strategy(**kwargs), call)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report them all
                    failures.append(f"{operation.label} ({label}): {exc}")
    assert not failures, "\n\n".join(failures)
    # The bodies of success were checked too: every read answered 200 at least once.
    reads = [op.label for op in operations if op.method.upper() == "GET"]
    assert not [label for label in reads if 200 not in answered[label]], answered

"""The audit log is a hash chain: edits, deletions and reorderings are found, row named."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from jikimi.audit import services as audit
from jikimi.audit.models import AuditEvent
from jikimi.people import services as people


@pytest.fixture
def chain(staff):
    worker = staff["caseworker"]
    person = people.create_person(worker, name="한서연")
    for _ in range(3):
        people.get_person(worker, person.code)
    assert audit.verify_chain() is None
    return list(AuditEvent.objects.order_by("id"))


def _verify_fails_at(row_id: int) -> None:
    problem = audit.verify_chain()
    assert problem is not None and problem.row_id == row_id, problem
    with pytest.raises(CommandError, match=f"audit row {row_id}") as exc:
        call_command("audit", "verify")
    assert exc.value.returncode == 1


def test_it_passes_an_intact_chain(chain, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out


def test_it_finds_an_edited_row(chain):
    target = chain[len(chain) // 2]
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditevent SET action = 'person.list' WHERE id = %s", [target.id])
    _verify_fails_at(target.id)


def test_it_finds_an_edited_detail(chain):
    target = chain[-2]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditevent SET detail = %s WHERE id = %s",
            ['{"purpose": "nothing to see"}', target.id],
        )
    _verify_fails_at(target.id)


def test_it_finds_a_deleted_row(chain):
    target = chain[3]
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.id])
    _verify_fails_at(target.id)


def test_it_finds_deleted_rows_at_the_end(chain):
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [chain[-1].id])
    _verify_fails_at(chain[-1].id)


def test_it_finds_reordered_rows(chain):
    """Swap the contents of two rows (ids stay in sequence): the chain breaks at the first."""
    a, b = chain[2], chain[3]
    fields = [
        "at",
        "actor_id",
        "organisation_id",
        "action",
        "object_type",
        "object_ref",
        "prev_hash",
        "row_hash",
    ]
    with connection.cursor() as cur:
        for src, dst in ((b, a), (a, b)):
            sets = ", ".join(f"{f} = %s" for f in fields)
            cur.execute(
                f"UPDATE audit_auditevent SET {sets} WHERE id = %s",  # noqa: S608
                [getattr(src, f) for f in fields] + [dst.id],
            )
    _verify_fails_at(a.id)


def test_it_keeps_personal_data_out_of_the_log(staff):
    worker = staff["caseworker"]
    person = people.create_person(worker, name="탁윤슬")
    people.add_identity(worker, person, kind="phone", value="010-9876-5432")
    people.search_people(worker, "Tak Yunseul")
    dump = str(list(AuditEvent.objects.values()))
    for needle in ("탁윤슬", "Tak", "Yunseul", "9876"):
        assert needle not in dump
    assert AuditEvent.objects.filter(action="people.search", detail__results=1).exists()


def test_it_passes_while_events_are_appended_during_the_check(chain, monkeypatch):
    """`jikimi audit verify` beside a live server: appends go on while it reads (seen as a
    false "rows deleted at the end" when the head was read after the rows)."""
    original = audit._iter_events
    appended = []

    def reading_while_others_append(*args, **kwargs):
        yield from original(*args, **kwargs)
        if len(appended) < 3:  # the server appends as each pass of the check ends
            appended.append(audit.record("test.append_during_verify", detail={"n": 1}))

    monkeypatch.setattr(audit, "_iter_events", reading_while_others_append)
    assert audit.verify_chain(batch=2) is None
    assert len(appended) == 3


def test_it_finds_a_row_written_after_the_head_without_moving_it(chain):
    last = chain[-1]
    AuditEvent.objects.create(
        id=last.id + 1,
        at=last.at,
        action="forged",
        prev_hash=last.row_hash,
        row_hash="f" * 64,
    )
    _verify_fails_at(last.id + 1)

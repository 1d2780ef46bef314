"""The SQLite rules of jikimi.core.db, on real database files (not the test database)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler
from django.test import RequestFactory

from jikimi.core import db

pytestmark = pytest.mark.nodb


@pytest.fixture(autouse=True)
def _own_files(django_db_blocker):
    """These tests open their own files, not the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def sqlite_file(tmp_path):
    """A Django connection to a fresh SQLite file, with the settings Jikimi serves with."""
    handler = ConnectionHandler({"default": db.sqlite_database(tmp_path / "x.sqlite3", env={})})
    wrapper = handler["default"]
    yield wrapper, tmp_path / "x.sqlite3"
    wrapper.close()


def test_it_states_wal_full_sync_and_a_busy_timeout(sqlite_file):
    wrapper, _ = sqlite_file
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL: a commit is on disk before it is answered
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == int(db.SQLITE_BUSY_TIMEOUT * 1000)
    assert wrapper.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_it_takes_synchronous_from_the_environment_and_refuses_nonsense(tmp_path):
    normal = db.sqlite_database(tmp_path / "a", env={"JIKIMI_SQLITE_SYNCHRONOUS": "normal"})
    assert "synchronous=NORMAL" in normal["OPTIONS"]["init_command"]
    with pytest.raises(ValueError, match="JIKIMI_SQLITE_SYNCHRONOUS"):
        db.sqlite_database(tmp_path / "a", env={"JIKIMI_SQLITE_SYNCHRONOUS": "OFF; DROP"})


def test_a_transaction_takes_the_write_lock_at_its_start(sqlite_file):
    """IMMEDIATE: a second writer waits at BEGIN, never fails half-way through a read."""
    wrapper, path = sqlite_file
    with wrapper.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x INTEGER)")
    wrapper._start_transaction_under_autocommit()  # what atomic() does on SQLite
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")  # a read, yet the lock is held already
    other = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.close()
    wrapper.connection.execute("ROLLBACK")


def test_a_lock_held_past_the_busy_timeout_answers_503_not_500(tmp_path):
    path = tmp_path / "busy.sqlite3"
    settings = db.sqlite_database(path, env={})
    settings["OPTIONS"]["timeout"] = 0.1
    wrapper = ConnectionHandler({"default": settings})["default"]
    with wrapper.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError) as caught, wrapper.wrap_database_errors:
            wrapper._start_transaction_under_autocommit()  # what atomic() does on SQLite
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        wrapper.close()
    assert db.is_busy_error(caught.value)
    request = RequestFactory().post("/api/people/")
    try:
        raise caught.value
    except OperationalError:
        response = db.server_error(request)  # as Django's handler500 calls it
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    try:
        raise OperationalError("no such table: t")
    except OperationalError:
        assert db.server_error(RequestFactory().get("/people/")).status_code == 500


def test_it_refuses_to_fork_with_a_connection_open(sqlite_file):
    wrapper, _ = sqlite_file
    before = db.open_sqlite_connections()  # the test database's own, in this process
    wrapper.ensure_connection()
    assert db.open_sqlite_connections() == before + 1
    with pytest.raises(RuntimeError, match="before fork"):
        db.check_no_connection_before_fork()
    wrapper.close()
    assert db.open_sqlite_connections() == before


def test_a_child_never_uses_or_closes_a_connection_that_crossed_fork(sqlite_file):
    wrapper, path = sqlite_file
    with wrapper.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x INTEGER)")
    inherited = wrapper.connection
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        ok = wrapper.connection is None and inherited in db._inherited
        if ok:
            with wrapper.cursor() as cursor:  # a new connection of its own
                cursor.execute("INSERT INTO t VALUES (1)")
            ok = wrapper.connection is not inherited
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connection still works and sees the child's write.
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone()[0] == 1

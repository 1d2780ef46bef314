"""The few hand-written SQL paths, written once: bulk inserts that skip rows whose unique
key exists, with the values prepared as the ORM would.

Raw SQL only where a benchmark showed the ORM's per-value compilation cost more than the
database work (bench/bench_checkins.py: a monitor pass raising a thousand alerts and
queueing their messages). Everything else uses the ORM.

On PostgreSQL many rows go in one short statement: `unnest` over one array per column. A
multi-row `VALUES (%s, …), (%s, …)` with tens of thousands of placeholders makes psycopg
split and convert a huge query string in Python on every call (it caches only short
queries); one array parameter per column keeps the statement short, cached and cheap.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db.models import Field, Model, Q

SQLITE_MAX_PARAMETERS = 30_000  # SQLite allows 32,766 parameters in one statement


def concrete_field(model: type[Model], name: str) -> Field:
    """`model._meta.get_field(name)` for a field with a column (not a reverse relation), as a
    `Field`, so that its column and value preparation are typed."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} has no column")
    return field


def column(model: type[Model], name: str) -> str:
    """The column of `model.name` (a foreign key's `…_id` column for a relation)."""
    return column_of(concrete_field(model, name))


def column_of(field: Field) -> str:
    """A concrete field's column (Django types it Optional for fields without one)."""
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column


def db_type_of(field: Field, connection: Any) -> str:
    """A concrete field's column type on `connection`."""
    db_type = field.db_type(connection)
    if db_type is None:
        raise TypeError(f"{field} has no column type")
    return db_type


def unnest(db_types: list[str], rows: list[list]) -> tuple[str, list[list]]:
    """`unnest(%s::t1[], %s::t2[], …)` and its parameters (one list per column)."""
    sql = "unnest(" + ", ".join(f"%s::{t}[]" for t in db_types) + ")"
    return sql, [list(column) for column in zip(*rows, strict=True)]


def preparers(fields, connection) -> list:
    """Per field, a function turning a Python value into its database parameter — what
    `field.get_db_prep_save(value, connection)` returns, minus its overhead where that is
    safe: an aware datetime goes to PostgreSQL as it is (Django would return it unchanged
    after the same checks). `connection` should be the real wrapper, not the thread proxy
    (`django.db.connections[alias]`), which costs a lookup on every attribute."""
    from datetime import datetime

    from django.db import models

    out = []
    for field in fields:
        prep = field.get_db_prep_save
        if connection.vendor == "postgresql" and isinstance(field, models.DateTimeField):

            def fast(value, prep=prep):
                if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
                    return value
                return prep(value, connection)

            out.append(fast)
        else:
            out.append(lambda value, prep=prep: prep(value, connection))
    return out


def insert_ignoring_conflicts(
    model: Any,
    objs: Sequence[Any],
    *,
    conflict: str | None = None,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERT `objs` of `model`, skipping those that would break a unique constraint.

    `conflict` names the unique column to test (else any); `returning` names columns to
    read back from the rows that went in (`RETURNING`; PostgreSQL and SQLite >= 3.35). A
    primary key the database assigns is left out of the insert. Values go through each
    field's pre_save and get_db_prep_save, as the ORM's. Only quoted column names of the
    model reach the SQL text; every value is a parameter.
    """
    from django.db import connection, connections

    if not objs:
        return []
    q = connection.ops.quote_name
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and getattr(f, "db_returning", False))
    ]
    columns = ", ".join(q(f.column) for f in fields)
    table = q(model._meta.db_table)
    target = f"({q(model._meta.get_field(conflict).column)}) " if conflict else ""
    tail = f"ON CONFLICT {target}DO NOTHING"
    if returning:
        tail += " RETURNING " + ", ".join(q(model._meta.get_field(c).column) for c in returning)
    db = connections[connection.alias]  # the wrapper itself, not the per-thread proxy
    preps = list(zip(fields, preparers(fields, db), strict=True))
    rows = [[prep(f.pre_save(obj, True)) for f, prep in preps] for obj in objs]
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source, arrays = unnest([f.db_type(connection) for f in fields], rows)
            sql = f"INSERT INTO {table} ({columns}) SELECT * FROM {source} {tail}"  # noqa: S608
            cursor.execute(sql, arrays)
            return [tuple(r) for r in cursor.fetchall()] if returning else []
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        if not returning:  # in-process SQLite: executemany costs no round trips
            sql = f"INSERT INTO {table} ({columns}) VALUES {row_sql} {tail}"  # noqa: S608
            cursor.executemany(sql, rows)
            return []
        per = max(1, SQLITE_MAX_PARAMETERS // len(fields))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            values = ", ".join([row_sql] * len(chunk))
            sql = f"INSERT INTO {table} ({columns}) VALUES {values} {tail}"  # noqa: S608
            cursor.execute(sql, [v for row in chunk for v in row])
            found += [tuple(r) for r in cursor.fetchall()]
    return found


def insert_prepared(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence],
    *,
    chunk: int = 50_000,
    plain: bool = False,
) -> None:
    """INSERT `rows` into `model`'s table: one value per field of `names`, each already in
    its database form (what `preparers` returns for that field on this connection).

    For the largest bulk writes (an import's blind-index rows: tens per person), where even
    `bulk_create`'s per-object preparation cost more than the database work. On PostgreSQL
    a chunk is one `unnest` statement; on SQLite one `executemany`. Only quoted column names
    of the model reach the SQL text; every value is a parameter.

    `plain`: the caller promises values that need no quoting in COPY's text format (ints,
    UUIDs, and text of ASCII letters, digits and hyphens: blind-index rows); on PostgreSQL
    the rows then go as one block of text instead of row by row through psycopg's writer
    (2.5 times faster for 3 million rows). The block is checked against that alphabet
    first, and sent the ordinary way if anything else is in it.
    """
    from django.db import connection

    if not rows:
        return
    q = connection.ops.quote_name
    fields = [concrete_field(model, n) for n in names]
    columns = ", ".join(q(column_of(f)) for f in fields)
    table = q(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: psycopg's C writer sends the rows as they are, without building one
            # array per column and unnesting it (an import's 3 million blind-index rows).
            copy_sql = f"COPY {table} ({columns}) FROM STDIN"
            copy = _copy_plain if plain else _copy_rows
            _execute_wrapped(cursor, copy_sql, lambda raw: copy(raw, copy_sql, rows))
            return
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        for start in range(0, len(rows), chunk):
            cursor.executemany(sql, rows[start : start + chunk])


def _copy_rows(raw: Any, sql: str, rows: Sequence[Sequence]) -> None:
    with raw.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


_PLAIN_TEXT = re.compile(r"[0-9A-Za-z\-\t\n]*")


def _copy_plain(raw: Any, sql: str, rows: Sequence[Sequence], piece: int = 2000) -> None:
    """COPY text format, the rows joined here (`insert_prepared(plain=True)`), sent piece
    by piece so that the server stores one while the next is joined. A piece holding a
    value that would need escaping goes row by row through psycopg's writer instead."""
    with raw.copy(sql) as copy:
        for start in range(0, len(rows), piece):
            chunk = rows[start : start + piece]
            text = "".join(["\t".join(map(str, row)) + "\n" for row in chunk])
            if _PLAIN_TEXT.fullmatch(text):
                copy.write(text.encode("ascii"))
            else:
                for row in chunk:
                    copy.write_row(row)


def _execute_wrapped(cursor: Any, sql: str, run: Any) -> None:
    """Run `run(psycopg cursor)` as the statement `sql` through the connection's execute
    wrappers (so that they see and time it as any other statement)."""

    def executor(sql: str, params: Any, many: bool, context: dict) -> None:
        wrapper = context["cursor"]  # as Django's own CursorWrapper._execute does
        wrapper.db.validate_no_broken_transaction()
        with wrapper.db.wrap_database_errors:
            run(wrapper.cursor)

    cursor._execute_with_wrappers(sql, None, False, executor)


@contextmanager
def bulk_write_cache(mebibytes: int = 256) -> Iterator[None]:
    """On SQLite, a page cache of `mebibytes` for this connection while a bulk write runs
    (an import's blind-index rows go into three B-trees in random order: with SQLite's
    default 2 MiB cache most inserts would read pages back from disk), the previous size
    restored after. Nothing elsewhere."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(mebibytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


#: Rows SQLite's ANALYZE reads of each index (`refresh_statistics`): enough for the planner
#: to tell a selective index from a poor one, in milliseconds even on a million-row table.
ANALYSIS_LIMIT = 1000
#: The fewest rows (by rowid) for which SQLite's statistics on a table are taken. SQLite
#: uses them as they were taken, whatever the table has grown to since: statistics of a
#: table of a few rows would go on telling the planner it is small (and plan a scan of it)
#: after the pages have grown it a thousandfold. Below this, the planner keeps its own
#: assumptions (a large table, ten rows a key), which the queries are written and tested for.
ANALYZE_MIN_ROWS = 10_000


def refresh_statistics(models: Iterable[Any]) -> None:
    """Bring the query planner's statistics on `models`' tables up to date after a bulk
    write (an import) grew them.

    SQLite keeps no statistics unless ANALYZE is run, and nothing else runs it: without
    them its planner guesses each index's selectivity, and a guess is what read a whole
    organisation's acts for every look-up of 500 record ids (issue #14). Here ANALYZE runs
    on each table of at least ANALYZE_MIN_ROWS rows, with `analysis_limit` (an estimate
    from about ANALYSIS_LIMIT rows an index), so its cost does not grow with the table.
    PostgreSQL's autovacuum analyzes a grown table too, but only after a delay (and its
    planner scales the statistics to the table's current size): ANALYZE now, a sample of
    30,000 rows a table, plans the next queries on the new rows at once."""
    from django.db import connection

    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
            return
        if connection.vendor != "sqlite":
            return
        cursor.execute("PRAGMA analysis_limit")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        try:
            for table in tables:
                # The largest rowid: the row count within deletions, read off the end of
                # the table's B-tree (a COUNT would read all of it).
                cursor.execute(f'SELECT MAX(rowid) FROM "{table}"')  # noqa: S608 - a model's
                (rows,) = cursor.fetchone()
                if (rows or 0) >= ANALYZE_MIN_ROWS:
                    cursor.execute(f'ANALYZE "{table}"')
        finally:
            cursor.execute(f"PRAGMA analysis_limit = {int(before)}")


class Rows:
    """New rows of `model` built as tuples, for the largest bulk writes (an import's
    people, identities, events and acts: hundreds of thousands of rows), where creating a
    model instance per row and running every field's `pre_save` cost more than the insert.

    `names` lists the fields in the order `add` takes their values: every concrete field of
    the model but a primary key the database assigns, so that a field added to the model
    later fails here (TypeError) instead of going in empty. Values are given as the ORM
    would hold them on an instance — an `EncryptedTextField` as its plaintext (or None),
    sealed here bound to its row exactly as the field's `pre_save` binds it (one AES-GCM
    object for all, `crypto.Sealer`); each value then goes into database form through its
    field's `get_db_prep_save`, skipped where that returns the value itself (text, numbers,
    booleans; a UUID on PostgreSQL) and memoised for dates and times. No signals are sent
    (like `bulk_create`) and no `auto_now` is filled in: the caller passes the time.
    """

    def __init__(self, model: type[Model], names: Sequence[str]) -> None:
        from django.db import connection, connections

        from .fields import EncryptedTextField

        fields = [
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and getattr(f, "db_returning", False))
        ]
        by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
        named = [by_name[n].name for n in names if n in by_name]
        if sorted(named) != sorted(f.name for f in fields) or len(named) != len(names):
            raise TypeError(
                f"{model.__name__} rows need exactly the fields "
                f"{sorted(f.name for f in fields)}, not {sorted(names)}"
            )
        self.model = model
        self.names = tuple(named)
        self.rows: list[list] = []
        self._prepared = 0  # rows[:_prepared] are sealed and in database form (`prepare`)
        db = connections[connection.alias]
        chosen = [by_name[n] for n in names]
        self._convert: list[tuple[int, Any]] = []
        self._seal: list[tuple[int, int, str]] = []  # (value index, row id index, table:column)
        self._sealer: Any = None
        for i, (f, prep) in enumerate(zip(chosen, preparers(chosen, db), strict=True)):
            if isinstance(f, EncryptedTextField):
                row_id = f.row_id_field
                if row_id == "pk":
                    assert model._meta.pk is not None
                    row_id = model._meta.pk.name
                where = f"{model._meta.db_table}:{f.column}:"
                self._seal.append((i, named.index(row_id), where))
                continue
            converter = _converter(f, prep, db)
            if converter is not None:
                self._convert.append((i, converter))

    def add(self, *values: Any) -> None:
        """One row: a value per name of `names`, in its order."""
        self.rows.append(list(values))

    def __len__(self) -> int:
        return len(self.rows)

    def prepare_ahead(self) -> None:
        """`prepare` now on PostgreSQL; elsewhere leave it to `insert`.

        An importer calls this in its own thread before handing `insert` to its background
        writer (`BackgroundWriter`). On PostgreSQL that writer mostly waits on the server's
        socket, so taking the sealing and conversion out of it let the two threads overlap:
        a 100,000-row import beside a million acts went from 65.6, 61.2, 53.3 s to 52.4,
        58.2, 45.4 s (pairs run one after the other, issue #14). On SQLite the writer's own
        statements need the interpreter lock for every row they bind, and the same move
        gave no gain (54.0 s against 52.6 s, the mean of five pairs: three beside the
        million acts, two into an empty organisation; within the noise)."""
        from django.db import connection

        if connection.vendor == "postgresql":
            self.prepare()

    def prepare(self) -> None:
        """Seal and convert the rows added so far into database form (`insert` does it for
        the rest). No query. A prepared row's plain columns (text, numbers) may still be
        changed in place, as a drawn code is when it is found taken."""
        if self._seal and self._sealer is None:
            from .crypto import Sealer

            self._sealer = Sealer()
        seal = self._sealer.seal if self._seal else None
        for row in self.rows[self._prepared :]:
            for i, id_index, where in self._seal:
                if row[i] is not None:
                    assert seal is not None
                    row[i] = seal(str(row[i]), f"{where}{row[id_index]}".encode())
            for i, convert in self._convert:
                row[i] = convert(row[i])
        self._prepared = len(self.rows)

    def set_column(self, name: str, values: Iterable[Any]) -> None:
        """Set the plain column `name` of every row added, in order (prepared or not): a
        public code drawn again after the rows were built (`core.codes.give_unique_codes`)."""
        at = self.names.index(name)
        for row, value in zip(self.rows, values, strict=True):
            row[at] = value

    def insert(self) -> None:
        """INSERT the rows added (`insert_prepared`), then forget them."""
        if not self.rows:
            return
        self.prepare()
        insert_prepared(self.model, self.names, self.rows)
        self.rows, self._prepared = [], 0


def _converter(field: Field, prep: Any, connection: Any) -> Any:
    """How `Rows` turns a value of `field` into database form: None where Django's answer
    is the value itself for the values an importer passes (str, int, float, bool, None; a
    UUID where the database has a native type), else a function: a short-cut (a UUID's
    hex on SQLite), the field's own preparation memoised (dates and
    times: an import's rows share a few thousand), or the preparation itself."""
    from django.db import models

    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = type(target)
    if isinstance(field, models.ForeignKey) and type(field).get_db_prep_save is not (
        models.ForeignKey.get_db_prep_save
    ):
        return prep
    stock = kind.get_db_prep_value is models.Field.get_db_prep_value
    plain = (
        (models.CharField, models.CharField.get_prep_value),
        (models.TextField, models.TextField.get_prep_value),
        (models.BooleanField, models.BooleanField.get_prep_value),
        (models.FloatField, models.FloatField.get_prep_value),
        (models.IntegerField, models.IntegerField.get_prep_value),
        (models.AutoField, models.AutoField.get_prep_value),
        (models.BigAutoField, models.BigAutoField.get_prep_value),
    )
    for cls, get_prep in plain:
        if isinstance(target, cls) and stock and kind.get_prep_value is get_prep:
            return None
    if isinstance(target, models.UUIDField) and kind.get_db_prep_value is (
        models.UUIDField.get_db_prep_value
    ):
        if connection.features.has_native_uuid_field:
            return lambda value: value if type(value) is uuid.UUID else prep(value)
        return lambda value: value.hex if type(value) is uuid.UUID else prep(value)
    if isinstance(target, models.DateField):  # DateTimeField too
        memo: dict[Any, Any] = {}

        def remembered(value: Any) -> Any:
            found = memo.get(value, memo)
            if found is memo:
                found = memo[value] = prep(value)
            return found

        return remembered
    return prep


def granted_ids(grants: type[Model], organisation_id: int, granted: str) -> list[Any]:
    """The `granted` ids (a grant model's field: the person or the event) that other
    organisations share with this one by a grant not revoked (`to_organisation`,
    `revoked_at`: the fields every grant model has)."""
    return list(
        grants._default_manager.filter(
            to_organisation_id=organisation_id, revoked_at__isnull=True
        ).values_list(granted, flat=True)
    )


def own_or_granted(organisation_id: int, field: str, shared: Sequence[Any]) -> Q:
    """Rows of the organisation, or whose `field` is one of the `shared` ids: what a
    sharing rule filters by (people's `people_seen_by`, incidents' `events_seen_by`).

    The shared ids come resolved (grants are few): `organisation = X OR id IN (…)` with a
    literal list lets the database walk an (organisation, …) index, where an OR with a
    subquery made it scan and sort every row.
    """
    own = Q(organisation_id=organisation_id)
    return own | Q(**{f"{field}__in": list(shared)}) if shared else own


class BackgroundWriter:
    """One bulk write at a time, run in a thread on the caller's connection and inside its
    transaction, while the caller computes what it writes next (issue #14: an import's
    chunk is written while the next chunk is built).

    The caller keeps the connection to itself but for that: it calls `wait` before any
    other use of the database (and before it commits), so the two threads never use the
    connection at once. `wait` re-raises what the write raised, so an import that failed
    there fails (and rolls back) as if it had written in its own thread. The work in the
    thread is the database's own: SQLite releases the interpreter lock while it steps,
    PostgreSQL works in its server process while the thread waits on the socket.
    """

    def __init__(self) -> None:
        from django.db import connections, transaction

        self.connection = connections[transaction.get_connection().alias]
        self._thread: Any = None
        self._error: BaseException | None = None

    def start(self, write: Any, *args: Any, **kwargs: Any) -> None:
        """Run `write(*args, **kwargs)` in the thread (after the previous write has
        finished), where the caller's connection is the thread's own: the ORM, `Rows` and
        the audit log write through it, in the caller's transaction."""
        import threading

        from django.db import connections

        self.wait()
        self.connection.inc_thread_sharing()

        def run() -> None:
            try:
                connections[self.connection.alias] = self.connection
                write(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
                self._error = exc
            finally:
                self.connection.dec_thread_sharing()

        self._thread = threading.Thread(target=run, name="jikimi-bulk-write", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the write started last has finished; what it raised is raised here."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

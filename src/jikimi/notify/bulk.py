"""Many rows in one short statement on PostgreSQL: `unnest` over one array per column.

A multi-row `VALUES (%s, …), (%s, …)` with tens of thousands of placeholders makes psycopg
split and convert a huge query string in Python on every call (it caches only short
queries); one array parameter per column keeps the statement short, cached and cheap.
"""

from __future__ import annotations


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

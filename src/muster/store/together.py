"""Several SELECTs read as one: on PostgreSQL in one statement, one round trip and one
snapshot; elsewhere one after another.

A person's page reads a dozen small things about one person. On PostgreSQL each
statement cost the service a round trip and its driver's and SQLAlchemy's work per
result, which was most of a read's CPU. ``fetch_together`` sends them as one
statement, each query's rows aggregated into a JSON array, and turns the JSON back
into the values the query's columns would have given (dates and times from their
ISO text). SQLite is in the process: there each query runs as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

Rows = list[dict[str, Any]]
_ORDINAL = "_together_ordinal"


@dataclass(frozen=True, eq=False)  # hashed by identity: queries are built once
class Query:
    """A SELECT and the order its rows come in (kept apart so that it can order the
    JSON aggregate on PostgreSQL as it orders the rows elsewhere)."""

    select: sa.Select[Any]
    order: tuple[Any, ...] = ()


def fetch_together(conn: sa.Connection, queries: Mapping[str, Query],
                   params: Mapping[str, Any]) -> dict[str, Rows]:
    """Each query's rows (as dicts, in its order), the queries given ``params`` (each
    takes the ones it names)."""
    if conn.dialect.name != "postgresql":
        return {name: [dict(r) for r in conn.execute(q.select.order_by(*q.order), params)
                       .mappings()] for name, q in queries.items()}
    items = tuple(queries.items())
    statement, converters = _together(items)
    row = conn.execute(statement, params).one()
    return {name: [_typed(r, converters[name]) for r in row[i]]
            for i, (name, _q) in enumerate(items)}


@cache
def _together(items: tuple[tuple[str, Query], ...]
              ) -> tuple[sa.Select[Any], dict[str, dict[str, Callable[[Any], Any]]]]:
    """The one statement (each query a JSON array of its rows), and per query the
    conversions its columns need from JSON."""
    arrays = []
    converters = {}
    for name, query in items:
        ordinal = sa.func.row_number().over(order_by=query.order).label(_ORDINAL)
        rows = query.select.add_columns(ordinal).subquery(name)
        array = sa.func.json_agg(aggregate_order_by(rows.table_valued(), rows.c[_ORDINAL]))
        arrays.append(sa.select(sa.func.coalesce(array, sa.literal_column("'[]'::json")))
                      .scalar_subquery().label(name))
        converters[name] = {str(column.key): convert for column in query.select.selected_columns
                            if (convert := _from_json(column.type)) is not None}
    return sa.select(*arrays), converters


def _from_json(sql_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if isinstance(sql_type, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(sql_type, sa.Date):
        return date.fromisoformat
    return None


def _typed(row: dict[str, Any], converters: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    del row[_ORDINAL]
    for key, convert in converters.items():
        if row.get(key) is not None:
            row[key] = convert(row[key])
    return row

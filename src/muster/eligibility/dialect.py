"""The SQL that differs between SQLite and PostgreSQL, and nothing else.

Rules compare stored dates with constants (see dates.py), which both databases
read alike; only the few per-person dates a result carries (a deferment's end, the
day someone becomes subject) and case folding need a dialect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def text_sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def date_sql(value: date, dialect: str) -> str:
    literal = f"'{value.isoformat()}'"
    return literal if dialect == "sqlite" else f"DATE {literal}"


def add_months_sql(expr: str, months: int, dialect: str) -> str:
    """``dates.add_months(expr, months)``: a day the month lacks rolls to the 1st after."""
    if dialect == "sqlite":
        # SQLite normalises 31 Jan + 1 month to 3 March; that shows as a changed day.
        shifted = f"date({expr}, '+{months} months')"
        return (f"CASE WHEN strftime('%d', {shifted}) = strftime('%d', {expr}) THEN {shifted} "
                f"ELSE date({expr}, '+{months} months', 'start of month') END")
    # PostgreSQL clamps 31 Jan + 1 month to 28/29 February; that too shows as a changed day.
    shifted = f"({expr} + INTERVAL '{months} months')"
    return (f"CASE WHEN EXTRACT(DAY FROM {shifted}) = EXTRACT(DAY FROM {expr}) "
            f"THEN CAST({shifted} AS DATE) "
            f"ELSE CAST(date_trunc('month', {shifted}) + INTERVAL '1 month' AS DATE) END")


def case_map(values: Iterable[str]) -> dict[str, str]:
    """Upper -> lower case for A-Z and for every other letter the values contain.

    Folding exactly these letters decides "equal ignoring case" against the values,
    identically in SQLite (whose lower() knows only ASCII), PostgreSQL (whose lower()
    depends on the server's locale) and Python.
    """
    mapping = {u: u.lower() for u in ASCII_UPPER}
    for value in values:
        for ch in value.lower():
            up = ch.upper()
            if len(up) == 1 and up != ch and up.lower() == ch:
                mapping[up] = ch
    return mapping


def fold_sql(expr: str, mapping: dict[str, str], dialect: str) -> str:
    if dialect == "postgresql":
        upper, lower = "".join(mapping), "".join(mapping.values())
        return f"translate({expr}, {text_sql(upper)}, {text_sql(lower)})"
    for up, low in mapping.items():
        if up not in ASCII_UPPER:
            expr = f"replace({expr}, {text_sql(up)}, {text_sql(low)})"
    return f"lower({expr})"


def fold(value: str, mapping: dict[str, str]) -> str:
    return value.translate({ord(up): low for up, low in mapping.items()})

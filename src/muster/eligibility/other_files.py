"""Another file that may be the same human: a net under resolution for the call-up.

Resolution keeps apart what it cannot prove to be one person: a record with its
names swapped *and* misspelt, or one carrying an identifier lent to someone else,
stays a file of its own. When that file carries what keeps a person off the call-up
(a deferment, an exemption, a death) and the main file is eligible, the person would
be called up on incomplete evidence. At 1,000,000 synthetic persons that was 5 men:
students, a protected occupation, a father of dependents, whose education, tax or
civil record sat in a file of its own.

So before anyone is eligible, the register looks for *other files* of theirs: a file
with the same birth date (or none, in their region), the same sex (or none), one of
their family and given names as either of its own (swaps happen), the other one and
the middle name similar (their keys or their spellings) or missing. While one of
them carries a ground in ``rules.KEEPING_OFF``, the person is held
(``rules.OTHER_FILE_GROUND``, needs_clarification) until an officer answers a pair of
their records: `muster review decide A B --same` joins the files at the next
resolution, ``--different`` lifts the hold. On that register it held 32 men: all 5,
26 namesakes born the same day and a twin one letter from their twin's given name
(Виталий, Василий), whom an officer tells apart by their documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from muster.store.bulk import BulkConnection
from muster.store.schema import golden_records

# Names at least this similar (Jaro-Winkler) may be one name misspelt: resolution's
# default for "different names".
NAME_SIMILARITY = 0.85
COLUMNS = ("person_id", "family_key", "given_key", "middle_key", "family_name", "given_name",
           "middle_name", "birth_date", "sex", "region")
_OTHER = {"family": "given", "given": "family"}
_PAIRS = pa.schema([("person_id", pa.string()), ("other_id", pa.string())])
# Not Schema.empty_table(), which imports pandas (0.25 s at every start of the CLI).
_NO_PAIRS = pa.Table.from_batches([], schema=_PAIRS)


def _similar(left: str, right: str) -> str:
    """``left`` and ``right`` (``a.given``, ``b.family``, ...) may be one name: either is
    missing, or their keys or their spellings are similar. The spellings too, because
    one letter mistyped in the name's own alphabet can be two in its key (Алиев and
    Алиеч: keys "alev" and "alech", 0.848; the names 0.92)."""
    keys = (f"{left}_key", f"{right}_key")
    return (f"({keys[0]} IS NULL OR {keys[1]} IS NULL OR {keys[0]} = {keys[1]} "
            f"OR jaro_winkler_similarity({keys[0]}, {keys[1]}) >= {NAME_SIMILARITY} "
            f"OR jaro_winkler_similarity(lower({left}_name), lower({right}_name)) "
            f">= {NAME_SIMILARITY})")


def matching_sql(mine: str, theirs: str) -> str:
    """DuckDB: pairs (``person_id`` of ``mine``, ``other_id`` of ``theirs``) that may be
    one human. Both tables have ``COLUMNS``. One equi-join per way a name can match (in
    place or swapped) and per birth-date case, so no name pairs with every file."""
    parts = []
    for name_a, name_b in (("family", "family"), ("given", "given"), ("family", "given"),
                           ("given", "family")):
        for day in ("a.birth_date = b.birth_date",
                    "b.birth_date IS NULL AND a.region = b.region"):
            parts.append(
                f"SELECT a.person_id, b.person_id AS other_id FROM {mine} a JOIN {theirs} b "
                f"ON a.{name_a}_key = b.{name_b}_key AND {day} "
                f"WHERE a.person_id <> b.person_id "
                f"AND (a.sex IS NULL OR b.sex IS NULL OR a.sex = b.sex) "
                f"AND {_similar(f'a.{_OTHER[name_a]}', f'b.{_OTHER[name_b]}')} "
                f"AND {_similar('a.middle', 'b.middle')}")
    return " UNION ".join(parts)


def kept_apart_sql(of_ids: bool = False) -> str:
    """Store SQL: (``person_id``, ``other_id``) of files an officer has said are different
    people: the newest decision on a pair of their records is "different". Both ways
    round; ``of_ids``: only pairs with a person in the bound list ``:ids``."""
    newest = ("NOT EXISTS (SELECT 1 FROM review_decisions n WHERE n.source_l = d.source_l "
              "AND n.record_id_l = d.record_id_l AND n.source_r = d.source_r "
              "AND n.record_id_r = d.record_id_r AND n.id > d.id)")
    pairs = ("SELECT pl.person_id AS l, pr.person_id AS r FROM review_decisions d "
             "JOIN person_records pl ON pl.source = d.source_l AND pl.record_id = d.record_id_l "
             "JOIN person_records pr ON pr.source = d.source_r AND pr.record_id = d.record_id_r "
             f"WHERE d.decision = 'different' AND {newest}"
             + (" AND (pl.person_id IN :ids OR pr.person_id IN :ids)" if of_ids else ""))
    both = (f"SELECT l AS person_id, r AS other_id FROM ({pairs}) x "
            f"UNION SELECT r, l FROM ({pairs}) y")
    return f"SELECT person_id, other_id FROM ({both}) z"


@cache
def _engine() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for matching, opened once: opening one takes 20 ms, much more
    than a single person's match. Each caller works on a cursor of its own (threads)."""
    return duckdb.connect()


def match(mine: pa.Table, theirs: pa.Table, apart: pa.Table) -> pa.Table:
    """The pairs of ``matching_sql`` between two tables of ``COLUMNS`` (birth dates as
    ISO text), less those in ``apart`` (``person_id``, ``other_id``)."""
    con = _engine().cursor()
    try:
        con.register("mine", _as_text(mine))
        con.register("theirs", _as_text(theirs))
        con.register("apart", apart.cast(_PAIRS))
        return con.sql(f"SELECT person_id, other_id FROM ({matching_sql('mine', 'theirs')}) "
                       "EXCEPT SELECT person_id, other_id FROM apart").to_arrow_table()
    finally:
        con.close()


def _as_text(table: pa.Table) -> pa.Table:
    # The same type on both sides whatever the database returned (SQLite: text dates;
    # an empty result: no type at all).
    return table.select(list(COLUMNS)).cast(pa.schema([(c, pa.string()) for c in COLUMNS]))


def _select(flags: str) -> str:
    columns = ", ".join("CAST(g.birth_date AS VARCHAR(10)) AS birth_date" if c == "birth_date"
                        else f"g.{c}" for c in COLUMNS)
    return (f"SELECT {columns} FROM {flags} f "
            "JOIN golden_records g ON g.person_id = f.person_id WHERE ")


def hold_in_bulk(db: BulkConnection, flags: str, suffix: str, eligible_mask: int,
                 blocking_mask: int, keeping_mask: int, bit: int) -> None:
    """Set ``bit`` in ``bits{suffix}`` of the would-be-eligible persons of ``flags`` (an
    ``eligible_mask`` bit, no ``blocking_mask`` bit) that have another file with a
    ``keeping_mask`` bit."""
    word = f"f.bits{suffix}"
    mine = db.fetch_arrow(_select(flags) + f"({word} & {eligible_mask}) <> 0 "
                                           f"AND ({word} & {blocking_mask}) = 0")
    if mine.num_rows == 0:
        return
    theirs = db.fetch_arrow(_select(flags) + f"({word} & {keeping_mask}) <> 0")
    held = match(mine, theirs, db.fetch_arrow(kept_apart_sql()))
    if held.num_rows == 0:
        return
    with db.temporary("elig_other_files", held.select(["person_id"])):
        db.execute(f"UPDATE {flags} SET bits{suffix} = bits{suffix} | {bit} "
                   "WHERE person_id IN (SELECT person_id FROM elig_other_files)")


def other_files(conn: sa.Connection, person_id: str) -> tuple[list[str], list[str]]:
    """(files ``person_id`` would be held for if they carried a ground, files that would
    be held for them): the two directions of ``matching_sql``, less the pairs an
    officer kept apart. The first decides their own hold."""
    mine, theirs = _matches(conn, [person_id])
    return (sorted(mine.column("other_id").to_pylist()),
            sorted(theirs.column("person_id").to_pylist()))


def neighbours(conn: sa.Connection, person_ids: Sequence[str]) -> set[str]:
    """Every file that may be one human with one of ``person_ids``, either way round:
    whom a change of theirs may hold or free."""
    mine, theirs = _matches(conn, person_ids)
    return (set(mine.column("other_id").to_pylist())
            | set(theirs.column("person_id").to_pylist())) - set(person_ids)


def _matches(conn: sa.Connection, person_ids: Sequence[str]) -> tuple[pa.Table, pa.Table]:
    """The pairs of ``matching_sql`` with one of ``person_ids`` as ``mine``, and those
    with one of them as ``theirs``, less the pairs an officer kept apart."""
    g = golden_records.c
    columns = [g[c] for c in COLUMNS]
    me = conn.execute(sa.select(*columns).where(g.person_id.in_(person_ids))).mappings().all()
    names = sorted({n for r in me for n in (r["family_key"], r["given_key"]) if n})
    if not names:
        return _NO_PAIRS, _NO_PAIRS
    # Every file that could match one of them either way round: a birth date of theirs,
    # or either birth date missing in their region; match() checks the rest.
    dates = sorted({r["birth_date"] for r in me if r["birth_date"]})
    regions = sorted({r["region"] for r in me if r["region"]})
    undated = sorted({r["region"] for r in me if not r["birth_date"] and r["region"]})
    near = conn.execute(sa.select(*columns).where(
        sa.or_(g.family_key.in_(names), g.given_key.in_(names)),
        sa.or_(g.birth_date.in_(dates), sa.and_(g.birth_date.is_(None), g.region.in_(regions)),
               g.region.in_(undated)))).mappings().all()
    kept = conn.execute(sa.text(kept_apart_sql(of_ids=True)).bindparams(
        sa.bindparam("ids", expanding=True)), {"ids": list(person_ids)}).all()
    apart = pa.table({"person_id": [r[0] for r in kept], "other_id": [r[1] for r in kept]})
    return match(_table(me), _table(near), apart), match(_table(near), _table(me), apart)


def _table(rows: Any) -> pa.Table:
    return pa.table({c: [None if r[c] is None else str(r[c]) for r in rows] for c in COLUMNS},
                    schema=pa.schema([(c, pa.string()) for c in COLUMNS]))

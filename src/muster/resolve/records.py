"""The accepted source records, loaded from the store into DuckDB for linkage.

Each record gets a dense integer ``rid`` (Splink's unique id) and the derived
columns the comparisons and rules use: the birth date as ISO text (for typo and
day/month swap levels), the birth place normalised (rules.place_key) and its
script, the address as a list of word tokens and as a key made of them, whether
its given name is in common use in the register (rules.common_given_names), and the
key of a given or middle name written as an initial, apart from the names' keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import common_given_names, is_initial, place_cyrillic, place_key
from muster.store.bulk import BulkConnection, fetch_concurrently
from muster.store.schema import STORED_FIELDS

ADDRESS_STOPWORDS = ("г", "ул", "д", "кв", "пр", "т", "пр-т", "g", "ul", "d", "kv")
RECORD_COLUMNS = ("source", "record_id", "batch_id", *STORED_FIELDS,
                  "family_key", "given_key", "middle_key")
SELECT_COLUMNS = ", ".join(RECORD_COLUMNS)
# Derived for matching only: the golden records do not read them.
MATCHING_COLUMNS = ("batch_id", "birth_text", "place_key", "disputed_ids", "address_tokens",
                    "place_cyrillic", "address_key", "given_common")
INITIAL_PARTS = ("given", "middle")  # names agencies write as initials
DATE_COLUMNS = ("birth_date", "record_date", "fitness_date", "death_date", "student_until",
                "service_end")


def load_records(db: BulkConnection, con: duckdb.DuckDBPyConnection,
                 config: ResolutionConfig) -> int:
    """Create DuckDB table ``records`` from every accepted record; returns how many."""
    parts = read_in_parts(db, SELECT_COLUMNS)
    with numbered_parts(con, "records_arrow", parts, typed_columns(RECORD_COLUMNS)):
        return build_records(con, "records_arrow", config, rid="rid")


def read_in_parts(db: BulkConnection, columns: str, source: str = "source_records s"
                  ) -> list[pa.Table]:
    """``SELECT columns FROM source`` (``s`` being source_records) in two parts (by
    source, of about equal numbers of records), read at once (bulk.fetch_concurrently),
    each in the order of (source, record_id) as DuckDB orders them: by their bytes.

    In that order numbered_parts numbers the records without sorting them again. On
    SQLite the order costs nothing: it reads ``source IN (...)`` through the primary
    key's index anyway (4.3M keys in 3.2 s with the order, 3.6 s without).
    """
    counts = db.fetch_arrow("SELECT source, sum(new) AS n FROM batches GROUP BY source "
                            "ORDER BY n DESC, source").to_pylist()
    groups: list[list[str]] = [[], []]
    sizes = [0, 0]
    for row in counts:  # biggest first, each to the smaller group
        smaller = sizes.index(min(sizes))
        groups[smaller].append(str(row["source"]))
        sizes[smaller] += int(row["n"] or 0)
    # PostgreSQL orders text by the database's collation unless told otherwise.
    collate = ' COLLATE "C"' if db.dialect == "postgresql" else ""
    order = f"s.source{collate}, s.record_id{collate}"
    queries: list[tuple[str, Sequence[Any]]] = [
        (f"SELECT {columns} FROM {source} WHERE s.source IN "
         f"({', '.join('?' * len(group))}) ORDER BY {order}", group)
        for group in groups if group]
    return fetch_concurrently(db.store, queries)


def typed_columns(columns: Sequence[str]) -> str:
    """A select list casting each record column to its type."""
    return ", ".join(
        f"CAST({c} AS DATE) AS {c}" if c in DATE_COLUMNS else
        f"CAST({c} AS INTEGER) AS {c}" if c in ("dependents", "batch_id") else
        f"CAST({c} AS VARCHAR) AS {c}"
        for c in columns)


@contextmanager
def union_of_parts(con: duckdb.DuckDBPyConnection, name: str, parts: Sequence[pa.Table],
                   select: str) -> Iterator[None]:
    """View ``name`` for the block: ``select`` (casting each column to its type,
    typed_columns) over every part, each cast on its own: the same column can come
    back typed differently in each (SQLite's driver types a column that is NULL
    throughout as integer)."""
    branches = []
    for i, part in enumerate(parts):
        con.register(f"{name}_{i}", part)
        branches.append(f"SELECT {select} FROM {name}_{i}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {' UNION ALL '.join(branches)}")
    try:
        yield
    finally:
        con.execute(f"DROP VIEW IF EXISTS {name}")
        for i in range(len(parts)):
            con.unregister(f"{name}_{i}")


@contextmanager
def numbered_parts(con: duckdb.DuckDBPyConnection, name: str, parts: Sequence[pa.Table],
                   select: str) -> Iterator[None]:
    """View ``name`` as union_of_parts gives it, with column ``rid``: each record's
    number as number_records gives it, taken from where it stands in the parts read
    in key order (read_in_parts) instead of sorting four million keys again.

    Each source lies in one part, its records in key order: a record's number is the
    records of the sources before its own (in DuckDB's order of the source names)
    and its place within its source.
    """
    placed = [part.append_column("_place", pa.array(np.arange(part.num_rows, dtype=np.int64)))
              for part in parts]
    with union_of_parts(con, f"{name}_placed", placed, f"{select}, _place"):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name}_sources AS
            SELECT source, min(_place) AS first,
                   sum(count(*)) OVER (ORDER BY source) - count(*) AS before
            FROM {name}_placed GROUP BY source
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {name} AS
            SELECT k.* EXCLUDE (_place), k._place - s.first + s.before + 1 AS rid
            FROM {name}_placed k JOIN {name}_sources s USING (source)
        """)
        try:
            yield
        finally:
            con.execute(f"DROP VIEW IF EXISTS {name}")
            con.execute(f"DROP TABLE IF EXISTS {name}_sources")


def number_records(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Temporary table ``record_numbers(source, record_id, number)``: the relation's
    records numbered from 1 in the order of (source, record_id).

    Numbering the keys alone and joining the numbers back is four times faster than
    a window over whole records, which sorts every column along with the keys.
    """
    con.execute(f"""CREATE OR REPLACE TEMP TABLE record_numbers AS
                    SELECT source, record_id,
                           row_number() OVER (ORDER BY source, record_id) AS number
                    FROM {relation}""")


def name_key_sql(part: str, table: str = "") -> str:
    """A name's key as resolution compares it: none for an initial (``part`` given or
    middle; ``table`` the alias of the store's or the relation's record columns)."""
    key = f"{table}{part}_key"
    if part not in INITIAL_PARTS:
        return key
    return f"CASE WHEN {is_initial(f'{table}{part}_name')} THEN NULL ELSE {key} END"


def count_given_names(relation: str, key: str = "given_key") -> str:
    """``(given_key, n, total)``: how many of the relation's records carry each given
    name (``key``: the column, or how to read it), and how many carry one."""
    return (f"SELECT {key} AS given_key, count(*) AS n, sum(count(*)) OVER () AS total "
            f"FROM {relation} WHERE {key} IS NOT NULL GROUP BY {key}")


def build_records(con: duckdb.DuckDBPyConnection, relation: str, config: ResolutionConfig,
                  table: str = "records", rid: str | None = None,
                  given_counts: str | None = None) -> int:
    """Create ``table`` from a relation with RECORD_COLUMNS: typed, numbered, derived.

    ``rid`` follows (source, record_id) over the whole register (an incremental run
    passes the numbers it gave every record), so a pair's orientation (rid_l < rid_r)
    is the same whichever subset of the register is loaded. For the same reason
    ``given_counts`` (count_given_names over the whole register) says which given
    names are common when the relation holds only some of the records.
    """
    counts = given_counts or f"({count_given_names(relation, name_key_sql('given'))})"
    if rid is None:
        number_records(con, relation)
        relation = (f"(SELECT x.*, n.number FROM {relation} x "
                    f"JOIN record_numbers n USING (source, record_id))")
        rid = "number"
    stop = ", ".join(f"'{w}'" for w in ADDRESS_STOPWORDS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE common_given AS "
                f"{common_given_names(config, counts)}")
    typed = typed_columns(RECORD_COLUMNS)
    # A name written as an initial is no name to compare ("И." against "Иванович" was
    # "different middle names"): its key moves to <part>_initial, which the rules
    # check the other name against (rules.conflict_sql), and the model sees it missing.
    initials_unkeyed = ", ".join(f"{name_key_sql(part)} AS {part}_key" for part in INITIAL_PARTS)
    initials = ", ".join(f"CASE WHEN {is_initial(f'{part}_name')} THEN {part}_key END "
                         f"AS {part}_initial" for part in INITIAL_PARTS)
    # Agencies differ in ё/е, case and punctuation of the same address; the key
    # compares the words alone, in their order (house and flat numbers stay apart).
    # Words are runs of Unicode letters and digits (RE2's [:alnum:] is ASCII only).
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT *, {place_cyrillic()} AS place_cyrillic,
               nullif(array_to_string(address_tokens, ' '), '') AS address_key,
               coalesce(given_key IN (SELECT given_key FROM common_given), false) AS given_common
        FROM (
          SELECT CAST(_rid AS BIGINT) AS rid, * EXCLUDE (_rid) REPLACE ({initials_unkeyed}),
            {initials},
            strftime(birth_date, '%Y-%m-%d') AS birth_text, {place_key()} AS place_key,
            CAST([] AS VARCHAR[]) AS disputed_ids,  -- see deterministic.mark_disputed
            list_filter(regexp_split_to_array(replace(lower(address), 'ё', 'е'),
                                              '[^\\p{{L}}\\p{{N}}-]+'),
                        lambda t: length(t) > 0 AND t NOT IN ({stop})) AS address_tokens
          FROM (SELECT {typed}, {rid} AS _rid FROM {relation}))
    """)
    con.execute("DROP TABLE IF EXISTS record_numbers")
    con.execute("DROP TABLE common_given")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

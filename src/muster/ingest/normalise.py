"""Turn read rows into canonical source records, flags and quarantine, in DuckDB.

One SQL statement per step over the whole file. Names and regions need the
profile's Python rules; those run on the *distinct* values of a column and are
joined back, so the Python work grows with the vocabulary, not with the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.ingest.declaration import ISO_DATE, NAME_SLOTS, SourceDeclaration
from muster.ingest.read import ReadResult
from muster.profile import Profile
from muster.store.schema import (
    CODED_FIELDS,
    DATE_FIELDS,
    INTEGER_FIELDS,
    NAME_KEYS,
    STORED_FIELDS,
)

NAME_FIELDS = ("family_name", "given_name", "middle_name")
IDENTIFIERS = ("national_id", "tax_id", "passport_no")
PLAIN_TEXT = ("birth_place", "address", "employer", "occupation", "military_rank",
              "military_specialty")
# Dates of what has happened: none is after the day of ingest, nor before 1900. A
# record_date of 2099 (an agency's "no expiry") made its record the newest, winning
# every field of the golden record; a fitness date in the future kept a fitness
# examination current for ever.
PAST_DATES = ("birth_date", "record_date", "fitness_date", "death_date")
EARLIEST_DATE = "1900-01-01"
NUL_SYMBOL = "\u2400"  # SYMBOL FOR NULL, in place of the character in quarantined text
NUL_REASON = f"holds a NUL character (shown as {NUL_SYMBOL}), which cannot be stored as text"
NESTED_REASON = "record_id is a JSON object or array, not a text or a number"
NESTED = "_nested_"  # prefix of the JSON rows' columns that say a key held an object or array


@dataclass
class Normalised:
    records: pa.Table  # one row per accepted record_id: canonical fields + evidence
    flags: pa.Table  # record_id, field, problem, raw_value
    quarantine: pa.Table  # line, record_id, reason, raw
    rows_read: int
    repeated: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_sql(decl: SourceDeclaration, column: str, typed: dict[str, pa.DataType]) -> str:
    """A source column as text, the way the source wrote it."""
    if decl.format == "jsonl":
        return f"CAST({_q(column)} AS VARCHAR)"  # extracted once by _source_view
    kind = typed.get(column)
    if kind is not None and pa.types.is_floating(kind):
        # A float that holds a whole number is an integer written by a careless tool.
        return (f"CASE WHEN {_q(column)} = trunc({_q(column)}) "
                f"THEN CAST(CAST({_q(column)} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({_q(column)} AS VARCHAR) END")
    return f"CAST({_q(column)} AS VARCHAR)"


def _mapped_sql(decl: SourceDeclaration, field: str, expr: str) -> str:
    mapping = decl.values.get(field)
    if not mapping:
        return expr
    cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in mapping.items())
    return f"(CASE trim({expr}) {cases} ELSE {expr} END)"


def _missing_columns(decl: SourceDeclaration, read: ReadResult) -> list[str]:
    if decl.format == "jsonl":
        return []  # a JSON line may omit a key; the field is then empty
    present = set(read.rows.column_names)
    return [c for c in decl.columns if c not in present]


def _check_mapping(decl: SourceDeclaration, read: ReadResult) -> None:
    """Refuse the file, storing nothing, when a mapped column is absent or nested."""
    from muster.errors import SourceError

    missing = _missing_columns(decl, read)
    if missing:
        present = [c for c in read.rows.column_names if not c.startswith("_")]
        raise SourceError(
            f"Source {decl.name!r} declares column(s) {', '.join(missing)} that the file "
            f"does not have. Columns in the file: {', '.join(present)}.",
            hint="Fix the [sources.NAME.fields] mapping or record_id with `muster sources add`.",
        )
    nested = {c: read.typed_columns[c] for c in dict.fromkeys(decl.columns)
              if c in read.typed_columns and pa.types.is_nested(read.typed_columns[c])}
    if nested:  # its text would be stored as a name, say "{'family': 'Иванов'}"
        raise SourceError(
            f"Source {decl.name!r} maps column(s) that hold nested values, not text or "
            f"numbers: {', '.join(f'{c} ({kind})' for c, kind in nested.items())}. "
            "Nothing was stored.",
            hint="Map columns of text or numbers, or flatten the file first.",
        )


def normalise(read: ReadResult, decl: SourceDeclaration, profile: Profile) -> Normalised:
    _check_mapping(decl, read)
    rows_read = read.rows.num_rows + len(read.bad_rows)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.register("rows", read.rows)
    source, nested = _source_view(con, decl, read)
    _classify(con, decl, read, source, nested)
    values = _values_sql(decl, read, source, nested)
    _register_vocabularies(con, decl, profile, values)
    records = con.sql(_canonical_sql(decl, profile, read.typed_columns, values, nested)
                      ).to_arrow_table()
    con.register("canonical", records)
    flags = con.sql(
        "SELECT record_id, f.field AS field, f.problem AS problem, f.raw_value AS raw_value "
        "FROM (SELECT record_id, unnest(_flags) AS f FROM canonical WHERE flags > 0)"
    ).to_arrow_table()
    quarantined = con.sql(
        f"SELECT x._line AS line, x._rid AS record_id, x.reason, {_raw_sql(decl, read)} AS raw "
        f"FROM rejected x JOIN {source} USING (_line) "
        "WHERE x.status = 'quarantined' ORDER BY x._line"
    ).to_arrow_table()
    bad = pa.table({
        "line": pa.array([b.line for b in read.bad_rows], pa.int64()),
        "record_id": pa.nulls(len(read.bad_rows), pa.string()),
        "reason": pa.array([b.reason for b in read.bad_rows], pa.string()),
        "raw": pa.array([b.raw for b in read.bad_rows], pa.string()),
    })
    quarantined = _without_nul(pa.concat_tables([quarantined.cast(bad.schema), bad]),
                               ("record_id", "raw")).sort_by("line")
    repeated = con.execute("SELECT count(*) FROM rejected WHERE status = 'repeat'").fetchone()
    con.close()
    return Normalised(
        records=records.drop_columns(["_flags"]),
        flags=flags,
        quarantine=quarantined,
        rows_read=rows_read,
        repeated=int(repeated[0]) if repeated else 0,
    )


def _may_hold_nul(decl: SourceDeclaration, read: ReadResult) -> bool:
    """Whether a row of the file may hold a NUL: its text does (for JSON, also as the
    escape), or for Parquet a text column's values do."""
    if decl.format == "parquet":
        columns = [read.rows[c] for c in read.rows.column_names
                   if not c.startswith("_") and _is_text(read.rows[c].type)]
        needles = [b"\x00"]
    else:
        columns = [read.rows["_raw"]]
        needles = [b"\x00", b"\\u0000"] if decl.format == "jsonl" else [b"\x00"]
    return any(needle in text for column in columns for text, _ in _value_bytes(column)
               for needle in needles)


def _value_bytes(column: pa.ChunkedArray) -> Iterator[tuple[bytes, int]]:
    """Each chunk's values end to end as one run of bytes, and how many values: a
    search in it is one scan in C, not one per value (a tenth of the time, or less)."""
    for chunk in column.cast(pa.large_string()).chunks:  # validity, offsets, then bytes
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            yield b"", len(chunk)
            continue
        # A chunk can be a slice of a larger array (the CSV reader's rows are): only
        # its own values' bytes.
        ends = np.frombuffer(offsets, np.int64)[[chunk.offset, chunk.offset + len(chunk)]]
        yield data.slice(int(ends[0]), int(ends[1] - ends[0])).to_pybytes(), len(chunk)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_string_view(kind))


def _without_nul(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """The quarantined rows' text with each NUL written as the symbol for it, which the
    database can store (the reason says so)."""
    for name in columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.replace_substring(table[name], "\x00", NUL_SYMBOL))
    return table


def _source_view(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration,
                 read: ReadResult) -> tuple[str, frozenset[str]]:
    """The relation holding the source's columns, and the columns where some row holds
    a JSON object or array: no field's value (a mapping that names a nested key, say).

    For JSON Lines every declared key is extracted once (a JSON text is parsed once
    per row, not once per use of each field)."""
    if decl.format != "jsonl":
        return "rows", frozenset()
    columns = list(dict.fromkeys(decl.columns))
    paths = [_lit("$." + '"' + c.replace('"', '\\"') + '"') for c in columns]
    picks = ", ".join(f"_v[{i}] AS {_q(c)}" for i, c in enumerate(columns, start=1))
    # Only a value that starts like one is asked its JSON type: one more parse, rarely;
    # and only in a file where some line has a "[" or a second "{" (one scan; most do not).
    nested = "".join(
        f", coalesce(left(_v[{i}], 1) IN ('{{', '[') AND json_type(_raw, {path}) IN "
        f"('OBJECT', 'ARRAY'), false) AS {_q(NESTED + c)}"
        for i, (c, path) in enumerate(zip(columns, paths, strict=True), start=1)
    ) if _may_nest(read.rows.column("_raw")) else ""
    con.execute(f"""
        CREATE TABLE json_rows AS
        SELECT _line, _raw, md5(CAST(json(_raw) AS VARCHAR)) AS _content_hash, {picks}{nested}
        FROM (SELECT _line, _raw, json_extract_string(_raw, [{", ".join(paths)}]) AS _v
              FROM rows)
    """)
    if not nested:
        return "json_rows", frozenset()
    found = con.execute("SELECT " + ", ".join(f"bool_or({_q(NESTED + c)})" for c in columns)
                        + " FROM json_rows").fetchone() or ()
    return "json_rows", frozenset(c for c, f in zip(columns, found, strict=True) if f)


def _may_nest(lines: pa.ChunkedArray) -> bool:
    """Whether some JSON line may hold an object or array as a value: a "[", or more
    "{" than lines."""
    return any(b"[" in text or text.count(b"{") > n for text, n in _value_bytes(lines))


def _raw_sql(decl: SourceDeclaration, read: ReadResult) -> str:
    """The raw evidence of a row: its text, or for Parquet its values as JSON."""
    if decl.format != "parquet":
        return "_raw"
    source_columns = [c for c in read.rows.column_names if not c.startswith("_")]
    return "to_json(struct_pack(" + ", ".join(
        f"{_q(c)} := {_q(c)}" for c in source_columns) + "))::VARCHAR"


def _classify(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration, read: ReadResult,
              source: str, nested: frozenset[str]) -> None:
    """Each row is accepted (first of its record_id), a repeat, or quarantined.

    `keyed` holds every row's line, record_id and content hash (narrow: the row's
    text is not copied); `rejected` only the rows that are not accepted, a few."""
    typed = read.typed_columns
    source_columns = [c for c in read.rows.column_names if not c.startswith("_")]
    rid = _column_sql(decl, decl.record_id, typed)
    rid_nested = _q(NESTED + decl.record_id) if decl.record_id in nested else "false"
    if decl.format == "jsonl":
        content_hash = "_content_hash"
    else:
        parts = ", ".join(f"coalesce({_column_sql(decl, c, typed)}, '')" for c in source_columns)
        content_hash = f"md5(concat_ws(chr(31), {parts}))"
    # A NUL cannot be stored as text by PostgreSQL (it failed the whole batch there): a
    # byte in a text file's row, "\u0000" in a JSON value, a character in a Parquet one.
    # Rows are tested only when the file holds one at all (one scan; most files do not).
    texts = {"parquet": [_column_sql(decl, c, typed) for c in source_columns],
             "jsonl": ["_raw", *(_column_sql(decl, c, typed) for c in dict.fromkeys(decl.columns))],
             }.get(decl.format, ["_raw"])
    has_nul = (" OR ".join(f"coalesce(contains({t}, chr(0)), false)" for t in texts)
               if texts and _may_hold_nul(decl, read) else "false")
    con.execute(f"""
        CREATE TABLE keyed AS
        SELECT _line, {rid} AS _rid, {content_hash} AS _hash, {has_nul} AS _nul,
          {rid_nested} AS _nested
        FROM {source}
    """)
    # Only record_ids that occur more than once need ranking: a small table to join.
    # A row quarantined for a NUL does not count: a clean row of the record is its first.
    con.execute("""
        CREATE TABLE repeated_ids AS
        SELECT _rid, arg_min(_hash, _line) AS _first_hash, min(_line) AS _first_line
        FROM keyed WHERE _rid IS NOT NULL AND NOT (_nul OR _nested)
        GROUP BY _rid HAVING count(*) > 1
    """)
    con.execute(f"""
        CREATE TABLE rejected AS
        SELECT k._line, k._rid,
          CASE WHEN k._nul OR k._nested OR k._rid IS NULL OR trim(k._rid) = ''
                 THEN 'quarantined'
               WHEN k._hash = r._first_hash THEN 'repeat'
               ELSE 'quarantined' END AS status,
          CASE WHEN k._nul THEN {_lit(NUL_REASON)}
               WHEN k._nested THEN {_lit(NESTED_REASON)}
               WHEN k._rid IS NULL OR trim(k._rid) = '' THEN 'missing record_id'
               WHEN k._hash <> r._first_hash THEN
                 'record_id ' || k._rid || ' repeats line ' || r._first_line ||
                 ' with different content'
          END AS reason
        FROM keyed k LEFT JOIN repeated_ids r USING (_rid)
        WHERE k._nul OR k._nested OR k._rid IS NULL OR trim(k._rid) = ''
           OR (r._rid IS NOT NULL AND k._line <> r._first_line)
    """)


def _register_vocabularies(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration,
                           profile: Profile, values: str) -> None:
    """Normalised names, name keys and region codes for every distinct spelling."""
    names = con.sql(f"SELECT DISTINCT v FROM (SELECT unnest([_n1, _n2, _n3]) AS v "
                    f"FROM ({values})) WHERE v IS NOT NULL").fetchall()
    rules = profile.names
    # A spelling without a letter ("?", "0") is an agency's mark for "none": no name.
    values_ = [row[0] for row in names if any(ch.isalpha() for ch in row[0])]
    con.register("name_vocab", pa.table({
        "raw": pa.array(values_, pa.string()),
        "normal": pa.array([rules.normalise(v) for v in values_], pa.string()),
        "key": pa.array([rules.key(v) for v in values_], pa.string()),
    }))
    regions: list[str] = []
    if "region" in decl.fields:
        regions = [row[0] for row in con.sql(
            f"SELECT DISTINCT _region FROM ({values}) WHERE _region IS NOT NULL").fetchall()]
    table = profile.regions
    con.register("region_vocab", pa.table({
        "raw": pa.array(regions, pa.string()),
        "code": pa.array([table.code_for(v) for v in regions], pa.string()),
        "normal": pa.array([" ".join(v.split()) or None for v in regions], pa.string()),
    }))


def _split_full_name_sql(decl: SourceDeclaration, expr: str) -> dict[str, str]:
    """full_name split on white space in name_order; extra words go to the last slot."""
    trimmed = f"trim({expr})"
    runs = _RUNS_OF_SPACE.format(t=trimmed)
    single = f"CASE WHEN {runs} THEN regexp_replace({trimmed}, '\\s+', ' ', 'g') ELSE {trimmed} END"
    # "Иванов И.И.": two initials written together are two words.
    single = (f"CASE WHEN contains({trimmed}, '.') THEN regexp_replace({single}, "
              f"'(\\p{{L}}\\.)(\\p{{L}}\\.)( |$)', '\\1 \\2\\3', 'g') ELSE {single} END")
    words = f"string_split({single}, ' ')"
    parts = {}
    last = len(decl.name_order)
    for i, slot in enumerate(decl.name_order, start=1):
        if i < last:
            parts[slot] = f"nullif({words}[{i}], '')"
        else:
            parts[slot] = f"nullif(array_to_string({words}[{i}:], ' '), '')"
    return parts


def _values_sql(decl: SourceDeclaration, read: ReadResult, source: str,
                nested: frozenset[str]) -> str:
    """Accepted rows with each declared field's raw text, its value (value maps applied;
    none when it is a JSON object or array) and the name slots and region to look up:
    a query, run inside the statements that use it."""
    typed = read.typed_columns
    selects = ["k._rid AS record_id", "s._line", f"{_raw_sql(decl, read)} AS _raw", "k._hash"]
    for field, column in decl.fields.items():
        raw = _column_sql(decl, column, typed)
        selects.append(f"{raw} AS {_q('raw_' + field)}")
        value = _mapped_sql(decl, field, raw)
        if column in nested:
            value = f"CASE WHEN NOT s.{_q(NESTED + column)} THEN {value} END"
            selects.append(f"s.{_q(NESTED + column)} AS {_q(NESTED + field)}")
        selects.append(f"{value} AS {_q('v_' + field)}")
    valued = (f"SELECT {', '.join(selects)} FROM {source} s JOIN keyed k USING (_line) "
              "WHERE s._line NOT IN (SELECT _line FROM rejected)")
    split = _split_full_name_sql(decl, "v_full_name") if "full_name" in decl.fields else {}
    slots: list[str] = []
    for slot, field in zip(NAME_SLOTS, NAME_FIELDS, strict=True):
        own = f"nullif(trim(v_{field}), '')" if field in decl.fields else "NULL"
        slots.append(f"coalesce({own}, {split.get(slot, 'NULL')}) AS _n{len(slots) + 1}")
    region = "nullif(trim(v_region), '')" if "region" in decl.fields else "NULL::VARCHAR"
    return f"SELECT *, {', '.join(slots)}, {region} AS _region FROM ({valued})"


# White space the regular expression \s matches (RE2: tab, newline, form feed, return, space).
_RUNS_OF_SPACE = ("(contains({t}, '  ') OR contains({t}, chr(9)) OR contains({t}, chr(10)) "
                  "OR contains({t}, chr(12)) OR contains({t}, chr(13)))")


def _text_sql(trimmed: str) -> str:
    """Runs of white space as one space, empty as NULL, of an already trimmed value.
    Most values have no run to collapse: those skip the (slow) regular expression."""
    runs = _RUNS_OF_SPACE.format(t=trimmed)
    return (f"nullif(CASE WHEN {runs} THEN regexp_replace({trimmed}, '\\s+', ' ', 'g') "
            f"ELSE {trimmed} END, '')")


def _field_sql(decl: SourceDeclaration, field: str, profile: Profile,
               typed: dict[str, pa.DataType]) -> tuple[dict[str, str], str, str | None]:
    """(helper columns computed once per row, canonical value SQL, problem SQL or None)
    for one mapped field. A value used several times (a parsed date, a cleaned
    identifier) is a helper column, so it is computed once, not once per use."""
    v = _q("v_" + field)
    if field in DATE_FIELDS:
        kind = typed.get(decl.fields[field])
        parsed = _q("d_" + field)
        if kind is not None and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
            prep = f"CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE)"
        else:
            fmt = decl.date_format or ISO_DATE
            prep = f"CAST(try_strptime(trim({v}), {_lit(fmt)}) AS DATE)"
            if field in PAST_DATES and "%y" in fmt:
                # A two-digit year is 1969-2068 to strptime: "65" would be 2065. A date
                # of the past takes the latest century that puts it there.
                prep = (f"list_transform([{prep}], lambda d: CASE WHEN d > current_date "
                        "THEN CAST(d - INTERVAL 100 YEAR AS DATE) ELSE d END)[1]")
        value = parsed
        problem = (f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND {parsed} IS NULL "
                   "THEN 'bad_date'")
        if field in PAST_DATES:
            problem += (f" WHEN {parsed} < DATE {_lit(EARLIEST_DATE)} OR {parsed} > current_date"
                        " THEN 'implausible_date'")
            value = (f"CASE WHEN {parsed} BETWEEN DATE {_lit(EARLIEST_DATE)} AND current_date "
                     f"THEN {parsed} END")
        if field == "death_date" and "birth_date" in decl.fields:
            # Which of the two is wrong is unknown: the death date is left out, and the
            # flag holds the person for an officer (eligibility's unreadable_value). A
            # birth date flagged itself (2090, say) is the wrong one.
            born = _q("d_birth_date")
            before_birth = (f"{parsed} < {born} AND {born} BETWEEN DATE "
                            f"{_lit(EARLIEST_DATE)} AND current_date")
            problem += f" WHEN {before_birth} THEN 'death_before_birth'"
            value = f"CASE WHEN NOT coalesce({before_birth}, false) THEN {value} END"
        return {parsed: prep}, value, problem + " END"
    if field in INTEGER_FIELDS:
        # Digits only: the database's own cast reads "2.5" as 3 and "0x10" as 16.
        value = (f"CASE WHEN regexp_full_match(trim({v}), '[+]?[0-9]+') "
                 f"THEN TRY_CAST(trim({v}) AS INTEGER) END")
        return ({}, f"CASE WHEN {value} >= 0 THEN {value} END",
                f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND coalesce({value} < 0, TRUE) "
                "THEN 'not_a_count' END")
    if field in IDENTIFIERS:
        spec = profile.identifiers[field]
        cleaned = _q("c_" + field)
        problem = (f"CASE WHEN {cleaned} IS NULL THEN NULL "
                   f"WHEN NOT {spec.format_ok_sql(cleaned)} THEN 'bad_format' "
                   f"WHEN NOT coalesce({spec.check_ok_sql(cleaned)}, FALSE) "
                   "THEN 'bad_check_digits' END")
        status = _q("p_" + field)
        # Digits and capitals, perhaps spaced, need no general (slow) rewrite: the same
        # result as the profile's cleaning, which drops separators and upper-cases.
        clean = (f"CASE WHEN regexp_full_match({v}, '[0-9A-Z]+') THEN {v} "
                 f"WHEN regexp_full_match({v}, '[0-9A-Z ]+') "
                 f"THEN nullif(replace({v}, ' ', ''), '') "
                 f"ELSE {spec.clean_sql(v)} END")
        return ({cleaned: clean}, f"CASE WHEN {status} IS NULL THEN {cleaned} END",
                problem)
    if field in CODED_FIELDS:
        allowed = ", ".join(_lit(c) for c in CODED_FIELDS[field])
        code = f"upper(trim({v}))"
        return ({}, f"CASE WHEN {code} IN ({allowed}) THEN {code} END",
                f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND {code} NOT IN ({allowed}) "
                "THEN 'unmapped_code' END")
    if field == "phone":
        return {}, f"nullif(regexp_replace({v}, '[^0-9+]', '', 'g'), '')", None
    trimmed = _q("t_" + field)
    text = _text_sql(trimmed)
    return {trimmed: f"trim({v})"}, f"lower({text})" if field == "email" else text, None


def _name_problems(decl: SourceDeclaration) -> list[tuple[str, str]]:
    """A name written but not in the vocabulary of names (no letter) is flagged on the
    field it was read from: its own column, or the full name a slot fell back to."""
    problems = []
    from_full_name = []
    for i, field in enumerate(NAME_FIELDS, start=1):
        letterless = f"(v._n{i} IS NOT NULL AND n{i}.raw IS NULL)"
        if field in decl.fields:
            own = f"nullif(trim(v.{_q('v_' + field)}), '') IS NOT NULL"
            problems.append((field, f"CASE WHEN {own} AND {letterless} THEN 'not_a_name' END"))
            from_full_name.append(f"(NOT {own} AND {letterless})")
        else:
            from_full_name.append(letterless)
    if "full_name" in decl.fields:  # one flag for the field as written
        problems.append(("full_name", f"CASE WHEN {' OR '.join(from_full_name)} "
                                      "THEN 'not_a_name' END"))
    return problems


def _canonical_sql(decl: SourceDeclaration, profile: Profile,
                   typed: dict[str, pa.DataType], values: str, nested: frozenset[str]) -> str:
    columns: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    prep: dict[str, str] = {}
    checks: dict[str, str] = {}
    for field in STORED_FIELDS:
        if field in NAME_FIELDS or field == "region" or field not in decl.fields:
            continue
        helpers, value, problem = _field_sql(decl, field, profile, typed)
        prep.update(helpers)
        columns[field] = value
        if problem is not None:
            if field in IDENTIFIERS:  # the identifier's problem decides its value: once
                checks[_q("p_" + field)] = problem
                problem = _q("p_" + field)
            problems.append((field, problem))
    for i, field in enumerate(NAME_FIELDS, start=1):
        columns[field] = f"n{i}.normal"
        columns[NAME_KEYS[i - 1]] = f"n{i}.key"
    problems += _name_problems(decl)
    if "region" in decl.fields:
        columns["region"] = "coalesce(r.code, r.normal)"
        problems.append(("region", "CASE WHEN v._region IS NOT NULL AND r.code IS NULL "
                                   "THEN 'unknown_region' END"))
    if nested:  # a field whose value was a JSON object or array has no other problem
        found = dict(problems)
        problems = [(f, f"CASE WHEN {_q(NESTED + f)} THEN 'not_a_value' ELSE "
                        f"{found.get(f, 'NULL')} END" if c in nested else found[f])
                    for f, c in decl.fields.items() if c in nested or f in found]
    flag_items = ", ".join(
        f"{{'field': {_lit(f)}, 'problem': {p}, 'raw_value': raw_{f}}}" for f, p in problems
    )
    flags = (f"list_filter([{flag_items}], lambda x: x.problem IS NOT NULL)" if problems
             else "[]::STRUCT(field VARCHAR, problem VARCHAR, raw_value VARCHAR)[]")
    typed_null = {f: "DATE" if f in DATE_FIELDS else "INTEGER" if f in INTEGER_FIELDS
                  else "VARCHAR" for f in STORED_FIELDS + NAME_KEYS}
    outputs = [
        f"{columns.get(f, 'NULL')}::{typed_null[f]} AS {f}" for f in STORED_FIELDS + NAME_KEYS
    ]
    prepared = values
    if prep:
        prepared = (f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in prep.items())} "
                    f"FROM ({prepared})")
    if checks:
        prepared = (f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in checks.items())} "
                    f"FROM ({prepared})")
    return f"""
        SELECT v.record_id, v._line AS line, v._raw AS raw, v._hash AS row_hash,
          {', '.join(outputs)},
          {flags} AS _flags, len(_flags)::INTEGER AS flags
        FROM ({prepared}) v
        LEFT JOIN name_vocab n1 ON n1.raw = v._n1
        LEFT JOIN name_vocab n2 ON n2.raw = v._n2
        LEFT JOIN name_vocab n3 ON n3.raw = v._n3
        LEFT JOIN region_vocab r ON r.raw = v._region
    """

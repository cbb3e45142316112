"""Turn read rows into canonical source records, flags and quarantine, in DuckDB.

One SQL statement per step over the whole file. Names and regions need the
profile's Python rules; those run on the *distinct* values of a column and are
joined back, so the Python work grows with the vocabulary, not with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from muster.ingest.declaration import CODED_FIELDS, ISO_DATE, NAME_SLOTS, SourceDeclaration
from muster.ingest.read import ReadResult
from muster.profile import Profile
from muster.store.schema import DATE_FIELDS, INTEGER_FIELDS, NAME_KEYS, STORED_FIELDS

NAME_FIELDS = ("family_name", "given_name", "middle_name")
IDENTIFIERS = ("national_id", "tax_id", "passport_no")
PLAIN_TEXT = ("birth_place", "address", "employer", "occupation", "military_rank",
              "military_specialty")
EARLIEST_BIRTH = "1900-01-01"


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
        return f"(_raw::JSON ->> {_lit(column)})"
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


def normalise(read: ReadResult, decl: SourceDeclaration, profile: Profile) -> Normalised:
    from muster.errors import SourceError

    missing = _missing_columns(decl, read)
    if missing:
        present = [c for c in read.rows.column_names if not c.startswith("_")]
        raise SourceError(
            f"Source {decl.name!r} declares column(s) {', '.join(missing)} that the file "
            f"does not have. Columns in the file: {', '.join(present)}.",
            hint="Fix the [sources.NAME.fields] mapping or record_id with `muster sources add`.",
        )
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.register("rows", read.rows)
    _classify(con, decl, read)
    _extract_values(con, decl, read)
    _register_vocabularies(con, profile)
    records = con.sql(_canonical_sql(decl, profile, read.typed_columns)).to_arrow_table()
    con.register("canonical", records)
    flags = con.sql(
        "SELECT record_id, f.field AS field, f.problem AS problem, f.raw_value AS raw_value "
        "FROM (SELECT record_id, unnest(_flags) AS f FROM canonical)"
    ).to_arrow_table()
    quarantined = con.sql(
        "SELECT _line AS line, record_id, reason, _raw AS raw FROM classified "
        "WHERE status = 'quarantined' ORDER BY _line"
    ).to_arrow_table()
    bad = pa.table({
        "line": pa.array([b.line for b in read.bad_rows], pa.int64()),
        "record_id": pa.nulls(len(read.bad_rows), pa.string()),
        "reason": pa.array([b.reason for b in read.bad_rows], pa.string()),
        "raw": pa.array([b.raw for b in read.bad_rows], pa.string()),
    })
    quarantined = pa.concat_tables([quarantined.cast(bad.schema), bad]).sort_by("line")
    repeated = con.execute("SELECT count(*) FROM classified WHERE status = 'repeat'").fetchone()
    con.close()
    return Normalised(
        records=records.drop_columns(["_flags"]),
        flags=flags,
        quarantine=quarantined,
        rows_read=read.rows.num_rows + len(read.bad_rows),
        repeated=int(repeated[0]) if repeated else 0,
    )


def _classify(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration, read: ReadResult) -> None:
    """Each row is accepted (first of its record_id), a repeat, or quarantined."""
    typed = read.typed_columns
    source_columns = [c for c in read.rows.column_names if not c.startswith("_")]
    rid = _column_sql(decl, decl.record_id, typed)
    if decl.format == "jsonl":
        content = "CAST(json(_raw) AS VARCHAR)"
    else:
        parts = ", ".join(f"coalesce({_column_sql(decl, c, typed)}, '')" for c in source_columns)
        content = f"concat_ws(chr(31), {parts})"
    raw = "_raw"
    if decl.format == "parquet":
        raw = "to_json(struct_pack(" + ", ".join(
            f"{_q(c)} := {_q(c)}" for c in source_columns) + "))::VARCHAR"
    con.execute(f"""
        CREATE TABLE hashed AS
        SELECT *, {rid} AS _rid, md5({content}) AS _hash, {raw} AS _raw_text FROM rows
    """)
    # Only record_ids that occur more than once need ranking: a small table to join.
    con.execute("""
        CREATE TABLE repeated_ids AS
        SELECT _rid, arg_min(_hash, _line) AS _first_hash, min(_line) AS _first_line
        FROM hashed WHERE _rid IS NOT NULL GROUP BY _rid HAVING count(*) > 1
    """)
    con.execute("""
        CREATE TABLE classified AS
        SELECT h.* EXCLUDE (_raw, _raw_text), h._raw_text AS _raw, h._rid AS record_id,
          CASE WHEN h._rid IS NULL OR trim(h._rid) = '' THEN 'quarantined'
               WHEN r._rid IS NULL OR h._line = r._first_line THEN 'accepted'
               WHEN h._hash = r._first_hash THEN 'repeat'
               ELSE 'quarantined' END AS status,
          CASE WHEN h._rid IS NULL OR trim(h._rid) = '' THEN 'missing record_id'
               WHEN h._line <> r._first_line AND h._hash <> r._first_hash THEN
                 'record_id ' || h._rid || ' repeats line ' || r._first_line ||
                 ' with different content'
          END AS reason
        FROM hashed h LEFT JOIN repeated_ids r USING (_rid)
    """)


def _register_vocabularies(con: duckdb.DuckDBPyConnection, profile: Profile) -> None:
    """Normalised names, name keys and region codes for every distinct spelling."""
    names = con.sql("SELECT DISTINCT v FROM (SELECT unnest([_n1, _n2, _n3]) AS v "
                    "FROM name_parts) WHERE v IS NOT NULL").fetchall()
    rules = profile.names
    values = [row[0] for row in names]
    con.register("name_vocab", pa.table({
        "raw": pa.array(values, pa.string()),
        "normal": pa.array([rules.normalise(v) for v in values], pa.string()),
        "key": pa.array([rules.key(v) for v in values], pa.string()),
    }))
    regions = [row[0] for row in con.sql(
        "SELECT DISTINCT _region FROM name_parts WHERE _region IS NOT NULL").fetchall()]
    table = profile.regions
    con.register("region_vocab", pa.table({
        "raw": pa.array(regions, pa.string()),
        "code": pa.array([table.code_for(v) for v in regions], pa.string()),
        "normal": pa.array([" ".join(v.split()) or None for v in regions], pa.string()),
    }))


def _split_full_name_sql(decl: SourceDeclaration, expr: str) -> dict[str, str]:
    """full_name split on white space in name_order; extra words go to the last slot."""
    words = f"string_split(regexp_replace(trim({expr}), '\\s+', ' ', 'g'), ' ')"
    parts = {}
    last = len(decl.name_order)
    for i, slot in enumerate(decl.name_order, start=1):
        if i < last:
            parts[slot] = f"nullif({words}[{i}], '')"
        else:
            parts[slot] = f"nullif(array_to_string({words}[{i}:], ' '), '')"
    return parts


def _extract_values(con: duckdb.DuckDBPyConnection, decl: SourceDeclaration,
                    read: ReadResult) -> None:
    """Accepted rows with each declared field's raw text (value maps applied)."""
    typed = read.typed_columns
    selects = ["record_id", "_line", "_raw", "_hash"]
    for field, column in decl.fields.items():
        raw = _column_sql(decl, column, typed)
        selects.append(f"{raw} AS {_q('raw_' + field)}")
        selects.append(f"{_mapped_sql(decl, field, raw)} AS {_q('v_' + field)}")
    con.execute(f"CREATE TABLE valued AS SELECT {', '.join(selects)} "
                f"FROM classified WHERE status = 'accepted'")
    split = _split_full_name_sql(decl, "v_full_name") if "full_name" in decl.fields else {}
    slots: list[str] = []
    for slot, field in zip(NAME_SLOTS, NAME_FIELDS, strict=True):
        own = f"nullif(trim(v_{field}), '')" if field in decl.fields else "NULL"
        slots.append(f"coalesce({own}, {split.get(slot, 'NULL')}) AS _n{len(slots) + 1}")
    region = "nullif(trim(v_region), '')" if "region" in decl.fields else "NULL::VARCHAR"
    con.execute(f"CREATE TABLE name_parts AS SELECT record_id, {', '.join(slots)}, "
                f"{region} AS _region FROM valued")


def _text_sql(expr: str) -> str:
    return f"nullif(regexp_replace(trim({expr}), '\\s+', ' ', 'g'), '')"


def _field_sql(decl: SourceDeclaration, field: str, profile: Profile,
               typed: dict[str, pa.DataType]) -> tuple[str, str | None]:
    """(canonical value SQL, problem SQL or None) for one mapped field."""
    v = _q("v_" + field)
    if field in DATE_FIELDS:
        kind = typed.get(decl.fields[field])
        if kind is not None and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
            value = f"CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE)"
        else:
            fmt = decl.date_format or ISO_DATE
            value = f"CAST(try_strptime(trim({v}), {_lit(fmt)}) AS DATE)"
        problem = f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND {value} IS NULL THEN 'bad_date'"
        if field == "birth_date":
            problem += (f" WHEN {value} < DATE {_lit(EARLIEST_BIRTH)} OR {value} > current_date"
                        " THEN 'implausible_date'")
            value = (f"CASE WHEN {value} BETWEEN DATE {_lit(EARLIEST_BIRTH)} AND current_date "
                     f"THEN {value} END")
        return value, problem + " END"
    if field in INTEGER_FIELDS:
        value = f"TRY_CAST(trim({v}) AS INTEGER)"
        return (f"CASE WHEN {value} >= 0 THEN {value} END",
                f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND coalesce({value} < 0, TRUE) "
                "THEN 'not_a_count' END")
    if field in IDENTIFIERS:
        spec = profile.identifiers[field]
        cleaned = spec.clean_sql(v)
        problem = (f"CASE WHEN {cleaned} IS NULL THEN NULL "
                   f"WHEN NOT {spec.format_ok_sql(cleaned)} THEN 'bad_format' "
                   f"WHEN NOT coalesce({spec.check_ok_sql(cleaned)}, FALSE) "
                   "THEN 'bad_check_digits' END")
        return f"CASE WHEN ({problem}) IS NULL THEN {cleaned} END", problem
    if field in CODED_FIELDS:
        allowed = ", ".join(_lit(c) for c in CODED_FIELDS[field])
        code = f"upper(trim({v}))"
        return (f"CASE WHEN {code} IN ({allowed}) THEN {code} END",
                f"CASE WHEN nullif(trim({v}), '') IS NOT NULL AND {code} NOT IN ({allowed}) "
                "THEN 'unmapped_code' END")
    if field == "email":
        return f"lower({_text_sql(v)})", None
    if field == "phone":
        return f"nullif(regexp_replace({v}, '[^0-9+]', '', 'g'), '')", None
    return _text_sql(v), None


def _canonical_sql(decl: SourceDeclaration, profile: Profile,
                   typed: dict[str, pa.DataType]) -> str:
    columns: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for field in STORED_FIELDS:
        if field in NAME_FIELDS or field == "region" or field not in decl.fields:
            continue
        value, problem = _field_sql(decl, field, profile, typed)
        columns[field] = value
        if problem is not None:
            problems.append((field, problem))
    for i, field in enumerate(NAME_FIELDS, start=1):
        columns[field] = f"n{i}.normal"
        columns[NAME_KEYS[i - 1]] = f"n{i}.key"
    if "region" in decl.fields:
        columns["region"] = "coalesce(r.code, r.normal)"
        problems.append(("region", "CASE WHEN p._region IS NOT NULL AND r.code IS NULL "
                                   "THEN 'unknown_region' END"))
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
    return f"""
        SELECT v.record_id, v._line AS line, v._raw AS raw, v._hash AS row_hash,
          {', '.join(outputs)},
          {flags} AS _flags, len(_flags)::INTEGER AS flags
        FROM valued v
        JOIN name_parts p USING (record_id)
        LEFT JOIN name_vocab n1 ON n1.raw = p._n1
        LEFT JOIN name_vocab n2 ON n2.raw = p._n2
        LEFT JOIN name_vocab n3 ON n3.raw = p._n3
        LEFT JOIN region_vocab r ON r.raw = p._region
    """

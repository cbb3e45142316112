"""Read an extract into rows that know their physical line and their raw text.

Every format comes out in one shape: an Arrow table with `_line` (the physical
line of a text file, the header being line 1; the row number from 1 in Parquet),
`_raw` (the row as the source wrote it) and the source's columns, plus the rows
that cannot be decoded as rows at all (quarantined by the caller).

Record boundaries, line numbers and field counts of CSV are found with numpy over
the file's bytes (a newline after an even number of quotes ends a record), so nothing here loops
over rows in Python; pyarrow then parses the well-formed records.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from muster.errors import SourceError
from muster.ingest.declaration import SourceDeclaration

UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
REPLACEMENT = "\ufffd".encode()


@dataclass
class BadRow:
    line: int
    reason: str
    raw: str


@dataclass
class ReadResult:
    rows: pa.Table  # _line, _raw, then source columns
    bad_rows: list[BadRow] = field(default_factory=list)
    typed_columns: dict[str, pa.DataType] = field(default_factory=dict)  # Parquet only


@dataclass
class _Records:
    """Records of a text buffer: byte spans, physical lines and raw text."""

    starts: np.ndarray
    ends: np.ndarray  # exclusive, without the line terminator
    lines: np.ndarray
    raw: pa.Array  # one string per record, terminator stripped


def read_extract(path: Path, decl: SourceDeclaration) -> ReadResult:
    if not path.exists():
        raise SourceError(f"File {path} does not exist.", hint="Check the path and try again.")
    if decl.format == "parquet":
        return _read_parquet(path)
    text = _with_newlines(_decode(path, decl.encoding))
    if decl.format == "jsonl":
        return _read_jsonl(text, decl.columns)
    return _read_csv(text, decl.delimiter)


def _decode(path: Path, encoding: str) -> bytes:
    """The file as UTF-8 bytes; a UTF-8 byte-order mark is dropped whatever the codec.
    A gzip-compressed file (as agencies often send large extracts) is read uncompressed."""
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"{path} is gzip-compressed but cannot be uncompressed ({exc}).",
                              hint="The file is probably cut short: ask the agency for it "
                                   "again; nothing was stored.") from None
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") and _is_utf8(data):
        return data  # valid UTF-8 already: no need to re-encode it
    # Undecodable bytes become U+FFFD; rows holding one are quarantined, never guessed.
    text = data.decode(encoding, errors="replace")
    return text.encode("utf-8")


def _with_newlines(data: bytes) -> bytes:
    """Lines ended by a carriage return alone (classic Mac OS, some mainframe exports)
    ended by a newline instead. Read as they were, the whole file was one line, taken
    for the header. Same length: lines and positions stay where they were."""
    if b"\n" not in data and b"\r" in data:
        return data.replace(b"\r", b"\n")
    return data


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are valid UTF-8: Arrow validates a binary-to-text cast with
    SIMD, twice as fast as decoding the whole file into a Python string."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _quotes(buf: bytes) -> np.ndarray | None:
    """Positions of the double quotes (None when the file has no quote at all)."""
    if b'"' not in buf:
        return None
    return np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 34)


def _outside(positions: np.ndarray, quotes: np.ndarray | None) -> np.ndarray:
    """Those of the positions that lie outside double quotes: an even number of quote
    characters precedes them (a newline or delimiter inside quotes is data)."""
    if quotes is None or len(positions) == 0:
        return positions
    outside: np.ndarray = positions[(np.searchsorted(quotes, positions) & 1) == 0]
    return outside


def _split_records(buf: bytes, quotes: np.ndarray | None,
                   all_newlines: np.ndarray | None = None) -> _Records:
    """``all_newlines``: the positions of every newline, when the caller has them."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    if all_newlines is None:
        all_newlines = np.flatnonzero(arr == 10)
    boundaries = _outside(all_newlines, quotes)
    starts = np.concatenate([[0], boundaries + 1]).astype(np.int64)
    if starts[-1] >= len(arr):  # the file ends with a newline: no record after it
        starts = starts[:-1]
    if len(boundaries) == len(all_newlines):  # no newline inside a value
        lines = np.arange(1, len(starts) + 1)
    else:
        lines = np.searchsorted(all_newlines, starts) + 1
    raw = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(np.append(starts, len(arr)).astype(np.int64)), pa.py_buffer(buf)
    )
    raw = pc.utf8_rtrim(raw, characters="\r\n")
    ends = starts + pc.binary_length(raw).to_numpy(zero_copy_only=False)
    return _Records(starts, ends.astype(np.int64), lines.astype(np.int64), raw)


def _undecodable(buf: bytes, records: _Records) -> np.ndarray:
    """Mask of records that hold a byte the declared encoding could not decode."""
    mask = np.zeros(len(records.starts), dtype=bool)
    if REPLACEMENT not in buf:
        return mask
    arr = np.frombuffer(buf, dtype=np.uint8)
    hits = np.flatnonzero((arr[:-2] == 0xEF) & (arr[1:-1] == 0xBF) & (arr[2:] == 0xBD))
    mask[np.searchsorted(records.starts, hits, side="right") - 1] = True
    return mask


def _read_csv(buf: bytes, delimiter: str) -> ReadResult:
    quotes = _quotes(buf)
    newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
    records = _split_records(buf, quotes, newlines)
    if len(records.starts) == 0:
        raise SourceError("The file is empty: a CSV extract needs at least a header line.")
    header_text = buf[records.starts[0]:records.ends[0]]
    header = _parse_header(header_text, delimiter)
    records, fields, unclosed = _reread_after_unclosed_quotes(buf, quotes, newlines, records,
                                                              delimiter, len(header))
    blank = records.ends == records.starts
    undecodable = _undecodable(buf, records)
    wrong_width = (fields != len(header)) & ~blank
    body = np.arange(len(records.starts)) > 0
    bad = body & (wrong_width | undecodable | unclosed)
    good = body & ~bad & ~blank
    bad_rows = _bad_rows(records, bad, undecodable, unclosed, fields, len(header))
    parsed = _parse_good_records(buf, records, header_text, good, delimiter, header)
    keep = np.flatnonzero(good)
    rows = parsed.add_column(0, "_line", pa.array(records.lines[keep], pa.int64()))
    rows = rows.add_column(1, "_raw", _kept_runs(records.raw, keep))
    return ReadResult(rows, bad_rows)


def _field_counts(delimiters: np.ndarray, records: _Records,
                  quotes: np.ndarray | None) -> np.ndarray:
    """Fields per record, from the positions of every delimiter in the file."""
    delims = _outside(delimiters, quotes)
    counts: np.ndarray = (np.searchsorted(delims, records.ends)
                          - np.searchsorted(delims, records.starts) + 1)
    return counts


# Stray quotes a file is read again after, each time from its start. Past that many it
# is read as it then stands: a later stray quote quarantines the lines up to the next
# one as one row.
REREADS = 50


def _reread_after_unclosed_quotes(
    buf: bytes, quotes: np.ndarray | None, newlines: np.ndarray, records: _Records,
    delimiter: str, width: int,
) -> tuple[_Records, np.ndarray, np.ndarray]:
    """The records, their field counts, and which of them is a line whose quote was left open.

    A quote left open (a stray one, in a name or an address) makes every line after it
    part of one value, up to the next stray quote: one record of thousands of lines,
    quarantined whole, its good rows unread. The first such record (several lines, and
    not the header's number of fields) is cut after its first line: that line's quotes
    stop counting, the line is quarantined, and the file is read again. Only the first:
    the records after it were delimited by the quote left open, and may be whole once
    it is gone. A value that really spans lines keeps its record when the record has
    the header's number of fields.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    delimiters = np.flatnonzero(arr == ord(delimiter))  # found once, whatever the quotes
    fields = _field_counts(delimiters, records, quotes)
    unclosed_at: list[int] = []
    if quotes is not None:
        for _ in range(REREADS):
            spans_lines = (np.searchsorted(newlines, records.ends)
                           > np.searchsorted(newlines, records.starts))
            broken = np.flatnonzero(spans_lines[1:] & (fields[1:] != width)) + 1  # not the header
            if len(broken) == 0:
                break
            start = int(records.starts[broken[0]])
            line_end = newlines[np.searchsorted(newlines, start)]
            quotes = np.delete(quotes, np.arange(np.searchsorted(quotes, start),
                                                 np.searchsorted(quotes, line_end)))
            unclosed_at.append(start)
            records = _split_records(buf, quotes, newlines)
            fields = _field_counts(delimiters, records, quotes)
    return records, fields, np.isin(records.starts, unclosed_at)


def _kept_runs(raw: pa.Array, keep: np.ndarray) -> pa.ChunkedArray:
    """raw[keep] without copying: the kept records are a few long runs (the dropped ones
    are the header, blank and malformed lines), each a zero-copy slice."""
    if len(keep) == 0:
        return pa.chunked_array([], raw.type)
    breaks = np.flatnonzero(np.diff(keep) != 1) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks, [len(keep)]])
    return pa.chunked_array(
        [raw.slice(int(keep[a]), int(b - a)) for a, b in zip(firsts, lasts, strict=True)],
        raw.type,
    )


def _parse_header(header_text: bytes, delimiter: str) -> list[str]:
    try:
        table = pacsv.read_csv(
            io.BytesIO(header_text + b"\n"),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise SourceError(
            f"The first line cannot be read as a header of column names ({exc}).",
            hint="Check the file's first line, and the source's declared delimiter and "
                 "encoding (`muster sources list`); nothing was stored.") from None
    names = [str(v) for v in table.to_pylist()[0].values()] if table.num_rows else []
    names = [n.strip() for n in names]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(
            f"The header repeats column name(s) {', '.join(duplicates)}.",
            hint="Each column needs a unique name; fix the header line of the extract.",
        )
    return names


def _bad_rows(
    records: _Records, bad: np.ndarray, undecodable: np.ndarray, unclosed: np.ndarray,
    fields: np.ndarray, width: int,
) -> list[BadRow]:
    out = []
    for i in np.flatnonzero(bad):  # only the malformed rows, a handful
        if undecodable[i]:
            reason = "cannot be decoded: bytes not valid in the declared encoding"
        elif unclosed[i]:
            reason = ("cannot be decoded as a row: a quote opened on this line is not closed "
                      "(the lines after it were read as rows of their own)")
        else:
            reason = f"cannot be decoded as a row: {fields[i]} fields where the header has {width}"
        out.append(BadRow(int(records.lines[i]), reason, records.raw[int(i)].as_py()))
    return out


def _parse_good_records(
    buf: bytes, records: _Records, header_text: bytes, good: np.ndarray, delimiter: str,
    header: list[str],
) -> pa.Table:
    dropped = np.flatnonzero(~good[1:]) + 1  # malformed and blank records, a handful
    if len(dropped) == 0:
        body = buf[records.starts[1]:] if len(records.starts) > 1 else b""
    else:
        pieces, cursor = [], records.starts[1] if len(records.starts) > 1 else len(buf)
        for i in dropped:
            pieces.append(buf[cursor:records.starts[i]])
            cursor = records.starts[i + 1] if i + 1 < len(records.starts) else len(buf)
        pieces.append(buf[cursor:])
        body = b"".join(pieces)
    expected = int(good.sum())
    if expected == 0:
        return pa.table({name: pa.array([], pa.string()) for name in header})
    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != expected:
        raise SourceError(
            f"The CSV parser found {table.num_rows} rows where {expected} were delimited; "
            "the file probably has a quote character inside an unquoted value.",
            hint="Quote such values (RFC 4180) or declare another delimiter; nothing was stored.",
        )
    return table


def _read_jsonl(buf: bytes, columns: list[str]) -> ReadResult:
    """JSON Lines: one object per line. A line that names one of the declared
    ``columns`` twice is quarantined: parsers differ on which of the values holds
    (DuckDB reads the first, Python's json the last), so one would be dropped
    silently."""
    import duckdb

    records = _split_records(buf, quotes=None)
    blank = records.ends == records.starts
    undecodable = _undecodable(buf, records)
    lines = pa.table({"_line": pa.array(records.lines, pa.int64()), "_raw": records.raw})
    keep = ~blank
    lines = lines.filter(pa.array(keep))
    und = undecodable[keep]
    con = duckdb.connect()
    # The first declared key a line names twice (NULL if none).
    con.execute("CREATE MACRO _repeated(k, declared) AS list_intersect(declared, "
                "list_filter(k, lambda key, i: list_position(k, key) < i))[1]")
    con.register("lines", lines.append_column("_undecodable", pa.array(und)))
    checked = con.sql(
        """
        SELECT _line, _raw,
          CASE WHEN _undecodable THEN 'cannot be decoded: bytes not valid in the declared encoding'
               WHEN NOT json_valid(_raw) THEN 'cannot be decoded as a row: not valid JSON'
               WHEN json_type(_raw::JSON) <> 'OBJECT'
                 THEN 'cannot be decoded as a row: a JSON line must be an object'
               WHEN len(json_keys(_raw)) <> len(list_distinct(json_keys(_raw)))
                    AND _repeated(json_keys(_raw), _declared) IS NOT NULL
                 THEN 'cannot be decoded as a row: the key "' || _repeated(json_keys(_raw),
                      _declared) || '" appears more than once, so which of its values holds '
                      || 'is unclear'
          END AS _problem
        FROM lines, (SELECT $declared AS _declared) ORDER BY _line
        """, params={"declared": columns}
    ).to_arrow_table()
    con.close()
    problem = checked.column("_problem")
    is_bad = pc.is_valid(problem)
    bad = checked.filter(is_bad)
    bad_rows = [
        BadRow(line, reason, raw)
        for line, reason, raw in zip(
            bad.column("_line").to_pylist(), bad.column("_problem").to_pylist(),
            bad.column("_raw").to_pylist(), strict=True,
        )
    ]
    good = checked.filter(pc.invert(is_bad)).drop_columns(["_problem"])
    return ReadResult(good, bad_rows)


def _read_parquet(path: Path) -> ReadResult:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"{path} cannot be read as Parquet: {exc}") from None
    lines = pa.array(np.arange(1, table.num_rows + 1), pa.int64())
    typed = {name: table.schema.field(name).type for name in table.column_names}
    # The raw evidence of a Parquet row is its values as JSON (rendered by the caller).
    rows = table.add_column(0, "_line", lines)
    rows = rows.add_column(1, "_raw", pa.nulls(table.num_rows, pa.string()))
    return ReadResult(rows, [], typed)

"""Write an extract the way its agency does: CSV (any encoding), JSON Lines or Parquet.

Text files are assembled with Arrow string kernels (one line per row, then one
buffer), which keeps full control over every byte: malformed rows, identical
repeats and physical line numbers are exactly what the manifest says they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from muster.profile import Profile
from muster.synth.badinput import EXTRA_FIELDS, MALFORMED_LONG, MALFORMED_SHORT
from muster.synth.rows import Rows
from muster.synth.sources import RECORD_ID, SourceSpec
from muster.synth.text import (
    concat,
    format_csv_fields,
    format_dates,
    format_display,
    format_json_values,
    join_lines,
    pad_zeros,
)
from muster.synth.vocab import Vocabulary

UTF8_BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 200_000  # rows rendered at a time: bounds the memory of big files
FIRST_LINE = {"csv": 2, "jsonl": 1, "parquet": 1}  # line of the first row (CSV has a header)


@dataclass
class Written:
    """Where each row ended up (indexed by row, not by file position)."""

    path: Path
    record_id: pa.Array  # as text, exactly as written (null when missing)
    line: np.ndarray


def write_extract(
    outdir: Path,
    spec: SourceSpec,
    rows: Rows,
    order: np.ndarray,
    numbers: np.ndarray,
    vocab: Vocabulary,
    profile: Profile,
) -> Written:
    in_order = rows.take(order)
    ids = format_record_ids(spec, numbers[order])
    columns = [
        (
            column,
            render_values(
                spec, key, ids if key == RECORD_ID else in_order.cols[key], vocab, profile
            ),
        )
        for key, column in spec.columns
    ]
    path = outdir / spec.file
    malformed = in_order.hidden["malformed"]
    if spec.format == "csv":
        write_csv(path, spec, columns, malformed)
    elif spec.format == "jsonl":
        write_jsonl(path, columns, malformed)
    else:
        write_parquet(path, columns)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    as_text = ids if pa.types.is_string(ids.type) else pc.cast(ids, pa.string())
    return Written(path, as_text.take(pa.array(position)), position + FIRST_LINE[spec.format])


def format_record_ids(spec: SourceSpec, numbers: np.ndarray) -> pa.Array:
    missing = numbers < 0
    if spec.format == "parquet":
        return pa.array(numbers, pa.int64(), mask=missing)
    width = max(spec.id_width, len(str(int(numbers.max(initial=0)))))
    text = concat(spec.id_prefix, pad_zeros(numbers, width))
    return pc.if_else(pa.array(missing), None, text)


def render_values(
    spec: SourceSpec, key: str, values: pa.Array, vocab: Vocabulary, profile: Profile
) -> pa.Array:
    """Canonical values in the agency's own spelling."""
    if key == "sex":
        male, female = vocab.codes[spec.sex_codes]
        if spec.sex_upper:
            male, female = male.upper(), female.upper()
        values = pc.if_else(
            pc.equal(values, "M"), male, pc.if_else(pc.equal(values, "F"), female, values)
        )
    if key in spec.displayed_ids:
        values = format_display(values, profile.identifiers[key].display)
    if pa.types.is_date(values.type) and spec.text_format:
        values = format_dates(values, spec.date_format)
    if spec.yo_as_ye and pa.types.is_string(values.type):
        values = pc.replace_substring(pc.replace_substring(values, "ё", "е"), "Ё", "Е")
    return values


def write_csv(
    path: Path, spec: SourceSpec, columns: list[tuple[str, pa.Array]], malformed: np.ndarray
) -> None:
    header = spec.delimiter.join(name for name, _ in columns) + "\n"
    with path.open("wb") as out:
        out.write(encode(header.encode("utf-8"), spec.encoding))
        for start in range(0, len(malformed), CHUNK_ROWS):  # a loop over chunks of rows
            chunk = [(name, values.slice(start, CHUNK_ROWS)) for name, values in columns]
            lines = render_csv_lines(chunk, spec.delimiter, malformed[start : start + CHUNK_ROWS])
            out.write(encode(join_lines(lines), spec.encoding, bom=False))


def render_csv_lines(
    columns: list[tuple[str, pa.Array]], delimiter: str, malformed: np.ndarray
) -> pa.Array:
    fields = [format_csv_fields(values, delimiter) for _, values in columns]
    line = pc.binary_join_element_wise(*fields, delimiter)
    if (malformed >= 0).any():
        # Rows that cannot be decoded as rows: three fields short, or two too many.
        short = pc.binary_join_element_wise(*fields[: len(fields) - 3], delimiter)
        long = concat(line, (delimiter + "#ERR") * EXTRA_FIELDS)
        kind = pa.array(malformed)
        line = pc.if_else(
            pc.equal(kind, MALFORMED_SHORT),
            short,
            pc.if_else(pc.equal(kind, MALFORMED_LONG), long, line),
        )
    return line


def encode(utf8: bytes, encoding: str, bom: bool = True) -> bytes:
    """UTF-8 bytes in the declared encoding (the BOM of utf-8-sig only at the start)."""
    codec = encoding.lower().replace("_", "-")
    if codec in ("utf-8", "utf8"):
        return utf8
    if codec in ("utf-8-sig", "utf8-sig"):
        return UTF8_BOM + utf8 if bom else utf8
    return utf8.decode("utf-8").encode(encoding)  # strict: the vocabulary must fit the codec


def write_jsonl(path: Path, columns: list[tuple[str, pa.Array]], malformed: np.ndarray) -> None:
    with path.open("wb") as out:
        for start in range(0, len(malformed), CHUNK_ROWS):  # a loop over chunks of rows
            chunk = [(name, values.slice(start, CHUNK_ROWS)) for name, values in columns]
            out.write(join_lines(render_json_lines(chunk, malformed[start : start + CHUNK_ROWS])))


def render_json_lines(columns: list[tuple[str, pa.Array]], malformed: np.ndarray) -> pa.Array:
    parts: list[pa.Array | str] = []
    for i, (name, values) in enumerate(columns):
        parts.append(("{" if i == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": ")
        parts.append(format_json_values(values))
    parts.append("}")
    line = concat(*parts)
    if (malformed >= 0).any():
        cut = pc.utf8_slice_codeunits(line, 0, 30)  # an object cut short is not JSON
        line = pc.if_else(pa.array(malformed >= 0), cut, line)
    return line


def write_parquet(path: Path, columns: list[tuple[str, pa.Array]]) -> None:
    table = pa.table({name: values for name, values in columns})
    # No timestamps are written; the same table always gives the same bytes.
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20)

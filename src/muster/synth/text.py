"""Vectorised text helpers: every function works on whole Arrow columns at once.

Per-row work goes through Arrow compute kernels; the only Python loops here run
over template pieces, character positions or alphabet letters, never over rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыьэюя"
LATIN = "abcdefghijklmnopqrstuvwxyz"
TYPO_KINDS = ("substitution", "deletion", "transposition")


def ensure_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (some conversions hand back chunks)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def concat(*parts: pa.Array | pa.Scalar | str) -> pa.Array:
    """Concatenate columns and literals element-wise (a null part gives a null row)."""
    args = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, "")


def render_template(template: str, values: Mapping[str, pa.Array]) -> pa.Array:
    """Fill ``{name}`` placeholders of one template from equally long columns."""
    parts: list[pa.Array | str] = []
    cursor = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > cursor:
            parts.append(template[cursor : match.start()])
        parts.append(values[match.group(1)])
        cursor = match.end()
    if cursor < len(template):
        parts.append(template[cursor:])
    return concat(*parts)


def format_integers(values: np.ndarray) -> pa.Array:
    """Integers as decimal text."""
    return pc.cast(pa.array(values, pa.int64()), pa.string())


def pad_zeros(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(format_integers(values), width=width, padding="0")


def format_dates(dates: pa.Array, fmt: str) -> pa.Array:
    """Dates as text; formatted once per distinct date (tens of thousands, not millions)."""
    encoded = ensure_array(pc.dictionary_encode(dates))
    return pc.strftime(encoded.dictionary, format=fmt).take(encoded.indices)


def format_display(ids: pa.Array, template: str) -> pa.Array:
    """Lay identifiers out like the profile's display template ("###-###-### ##").

    Identifiers whose length does not match the template are left as they are.
    """
    slots = sum(ch in "#A" for ch in template)
    if not template or slots == 0:
        return ids
    parts: list[pa.Array | str] = []
    position = 0
    for run in re.finditer(r"[#A]+|[^#A]+", template):
        piece = run.group(0)
        if piece[0] in "#A":
            parts.append(pc.utf8_slice_codeunits(ids, position, position + len(piece)))
            position += len(piece)
        else:
            parts.append(piece)
    laid_out = concat(*parts)
    fits = pc.equal(pc.utf8_length(ids), slots)
    return pc.if_else(fits, laid_out, ids)


def pick(pool: pa.Array, index: np.ndarray) -> pa.Array:
    """``pool[index]`` with negative indices as nulls."""
    index = np.asarray(index, dtype=np.int64)
    return pool.take(pa.array(index, mask=index < 0))


def put(values: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """Return ``values`` with ``values[rows] = new`` (``rows`` sorted, unique)."""
    if len(rows) == 0:
        return values
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), new.cast(values.type))


def apply_typos(names: pa.Array, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """One keyboard-style typo in each name; returns new names and the kind index.

    Typos leave the first letter alone (people rarely mistype it) and always change
    the name: a substitution picks a different letter of the same script, and a
    transposition of two equal letters becomes a deletion.
    """
    n = len(names)
    length = pc.utf8_length(names).to_numpy(zero_copy_only=False).astype(np.int64)
    kind = rng.integers(0, 3, size=n)
    kind[length < 3] = 0  # too short to delete or transpose safely
    # Position 1..len-1 (transpositions need a following letter: 1..len-2).
    span = np.maximum(np.where(kind == 2, length - 2, length - 1), 1)
    position = 1 + (rng.random(n) * span).astype(np.int64)
    latin = pc.match_substring_regex(names, "^[A-Za-z]").to_numpy(zero_copy_only=False)
    out = names
    for pos in np.unique(position):  # a loop over positions, never over rows
        at = np.flatnonzero(position == pos)
        typed = _make_typo_at(out.take(pa.array(at)), int(pos), kind[at], latin[at], rng)
        out = put(out, at, typed)
    unchanged = pc.equal(out, names).to_numpy(zero_copy_only=False)
    kind = np.where(unchanged & (kind == 2), 1, kind)
    if unchanged.any():  # equal neighbours: transposition would be a no-op
        at = np.flatnonzero(unchanged)
        for pos in np.unique(position[at]):
            sub = at[position[at] == pos]
            out = put(
                out,
                sub,
                _make_typo_at(
                    out.take(pa.array(sub)), int(pos), np.ones(len(sub), np.int64), latin[sub], rng
                ),
            )
    return out, kind


def _make_typo_at(
    names: pa.Array, pos: int, kind: np.ndarray, latin: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    head = pc.utf8_slice_codeunits(names, 0, pos)
    here = pc.utf8_slice_codeunits(names, pos, pos + 1)
    after = pc.utf8_slice_codeunits(names, pos + 1, pos + 2)
    tail1 = pc.utf8_slice_codeunits(names, pos + 1, 10**6)
    tail2 = pc.utf8_slice_codeunits(names, pos + 2, 10**6)
    letter = _draw_letters(rng, latin, avoid=here)
    substituted = concat(head, letter, tail1)
    deleted = concat(head, tail1)
    transposed = concat(head, after, here, tail2)
    choices = [substituted, deleted, transposed]
    return pc.choose(pa.array(kind, pa.int8()), *choices)


def _draw_letters(rng: np.random.Generator, latin: np.ndarray, avoid: pa.Array) -> pa.Array:
    n = len(latin)
    cyr = pa.array(list(CYRILLIC))
    lat = pa.array(list(LATIN))
    first_cyr = rng.integers(0, len(CYRILLIC), n)
    first_lat = rng.integers(0, len(LATIN), n)
    is_latin = pa.array(latin)
    letter = pc.if_else(is_latin, lat.take(pa.array(first_lat)), cyr.take(pa.array(first_cyr)))
    # Never "substitute" a letter by itself: take the next letter of the alphabet.
    second = pc.if_else(
        pa.array(latin),
        lat.take(pa.array((first_lat + 1) % len(LATIN))),
        cyr.take(pa.array((first_cyr + 1) % len(CYRILLIC))),
    )
    same = pc.equal(letter, pc.utf8_lower(avoid))
    return pc.if_else(pc.fill_null(same, False), second, letter)


def format_csv_fields(values: pa.Array, delimiter: str) -> pa.Array:
    """RFC 4180 text of one column: nulls empty, risky values quoted."""
    text = pc.fill_null(values if values.type == pa.string() else pc.cast(values, pa.string()), "")
    risky = pc.match_substring_regex(text, f'[{re.escape(delimiter)}"\\n\\r]')
    if not pc.any(risky).as_py():
        return text
    quoted = concat('"', pc.replace_substring(text, '"', '""'), '"')
    return pc.if_else(risky, quoted, text)


def format_json_values(values: pa.Array) -> pa.Array:
    """JSON text of one column: strings quoted and escaped, numbers bare, nulls null."""
    if pa.types.is_integer(values.type):
        return pc.fill_null(pc.cast(values, pa.string()), "null")
    text = values if values.type == pa.string() else pc.cast(values, pa.string())
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.fill_null(concat('"', escaped, '"'), "null")


def join_lines(lines: pa.Array) -> bytes:
    """All lines as UTF-8 bytes, each ending with a newline (one buffer copy)."""
    if len(lines) == 0:
        return b""
    terminated = ensure_array(concat(lines, "\n")).cast(pa.large_string())
    _, offsets_buf, data_buf = terminated.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)
    first, last = offsets[terminated.offset], offsets[terminated.offset + len(terminated)]
    return data_buf.to_pybytes()[first:last] if data_buf is not None else b""

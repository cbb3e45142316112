"""The order in which `muster ingest --all` takes the sources.

`--all` reads and normalises the next source while the current one is written, so
the run is a chain of overlapping pairs plus two parts that overlap nothing: reading
the first source and writing the last. Hence: the smallest source first (its read is
short, so writing starts soon), then the others largest first, so that each large
write overlaps the next large read and the last write, alone, is a small one.

Sizes are estimated in rows without reading the files: Parquet states its row count;
for a text file the newlines in its first mebibyte are scaled to the file's size. The
order changes only which batch id each source gets, never what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from muster.ingest.declaration import parse_declaration

SAMPLE_BYTES = 1 << 20


def estimated_rows(file_format: str, path: Path) -> int:
    """Roughly how many rows the extract holds; 0 when it cannot be read (the ingest
    itself then says why, and failing early costs nothing)."""
    try:
        if file_format == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        size = path.stat().st_size
        with path.open("rb") as f:
            sample = f.read(SAMPLE_BYTES)
    except Exception:  # whatever is wrong with the file, its ingest reports it
        return 0
    if not sample:
        return 0
    newlines = sample.count(b"\n") or 1  # one long line, or UTF-16: count by size
    return round(size * newlines / len(sample))


def ingest_order(sources: Mapping[str, object], base: Path) -> list[str]:
    """Declared source names: the smallest extract first, then largest to smallest.

    Sources whose declaration or file is not usable come before all of them, so their
    errors are reported before any long work."""
    unusable, sizes = [], {}
    for name, data in sources.items():
        declaration, _problems = parse_declaration(name, data, base)
        if declaration is None or declaration.file is None or not declaration.file.is_file():
            unusable.append(name)
        else:
            sizes[name] = estimated_rows(declaration.format, declaration.file)
    ascending = sorted(sizes, key=lambda name: (sizes[name], name))
    largest_first = sorted(ascending[1:], key=lambda name: (-sizes[name], name))
    return sorted(unusable) + ascending[:1] + largest_first

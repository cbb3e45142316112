"""The order of `muster ingest --all`: the smallest extract first, then largest first;
and what it says when one of them fails on the way.

Only the order is decided here (it makes the overlapped read/write pipeline faster);
what is stored does not depend on it, which the --all tests elsewhere check.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from helpers import declare
from muster.ingest.order import estimated_rows, ingest_order


def _csv(path: Path, rows: int) -> dict[str, object]:
    path.write_text("id,name\n" + "".join(f"{i},Иванов\n" for i in range(rows)),
                    encoding="utf-8")
    return {"format": "csv", "record_id": "id", "file": str(path),
            "fields": {"family_name": "name"}}


def test_the_smallest_source_goes_first_then_the_largest(tmp_path: Path) -> None:
    sources = {
        "medium": _csv(tmp_path / "medium.csv", 2_000),
        "tiny": _csv(tmp_path / "tiny.csv", 10),
        "large": _csv(tmp_path / "large.csv", 50_000),
        "small": _csv(tmp_path / "small.csv", 300),
    }
    assert ingest_order(sources, tmp_path) == ["tiny", "large", "medium", "small"]


def test_parquet_counts_its_rows_not_its_compressed_bytes(tmp_path: Path) -> None:
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(40_000)],
                             "name": ["Иванов"] * 40_000}), path)
    assert estimated_rows("parquet", path) == 40_000
    sources = {
        "many": {"format": "parquet", "record_id": "id", "file": str(path),
                 "fields": {"family_name": "name"}},
        "few": _csv(tmp_path / "few.csv", 100),
        "some": _csv(tmp_path / "some.csv", 5_000),
    }
    assert ingest_order(sources, tmp_path) == ["few", "many", "some"]


def test_text_rows_are_estimated_from_the_start_of_the_file(tmp_path: Path) -> None:
    _csv(tmp_path / "big.csv", 100_000)
    assert abs(estimated_rows("csv", tmp_path / "big.csv") - 100_001) < 2_000


def test_an_unusable_source_comes_first_so_its_error_is_reported_at_once(
        tmp_path: Path) -> None:
    sources = {
        "ok": _csv(tmp_path / "ok.csv", 1_000),
        "big": _csv(tmp_path / "big.csv", 9_000),
        "gone": {"format": "csv", "record_id": "id", "file": str(tmp_path / "gone.csv"),
                 "fields": {"family_name": "name"}},
        "broken": {"format": "xls"},
    }
    assert ingest_order(sources, tmp_path) == ["broken", "gone", "ok", "big"]


def test_a_source_that_fails_during_all_is_named_and_the_rest_can_follow(register,
                                                                          tmp_path: Path
                                                                          ) -> None:
    # The error did not say which of the sources failed ("The header repeats column
    # name(s) name.") nor what was already stored.
    sources = {"tiny": _csv(tmp_path / "tiny.csv", 10),
               "large": _csv(tmp_path / "large.csv", 5_000),
               "small": _csv(tmp_path / "small.csv", 300)}
    good = (tmp_path / "large.csv").read_text(encoding="utf-8")
    (tmp_path / "large.csv").write_text(good.replace("id,name", "id,name,name", 1),
                                        encoding="utf-8")
    register.ok("sources", "add", declare(tmp_path / "sources.toml", **sources))
    failed = register.run("ingest", "--all")
    assert failed.exit_code == 2
    assert "Source 'large': The header repeats column name(s) name." in failed.err
    assert "Ingested before it: tiny." in failed.err
    assert "tiny.csv (batch 1" in failed.out and "small" not in failed.out
    (tmp_path / "large.csv").write_text(good, encoding="utf-8")
    out = register.ok("ingest", "--all")
    assert "tiny.csv: this file was already ingested as batch 1" in out
    assert "large.csv (batch 2" in out and "small.csv (batch 3" in out

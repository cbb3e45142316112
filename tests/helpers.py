"""Small builders for test extracts and declarations."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import tomli_w

from conftest import Register, Snapshots
from muster.store import Store


def resolved_300_persons(register: Register, tmp_path: Path,
                         snapshots: Snapshots) -> Register:
    """300 synthetic persons (seed 5) ingested and resolved: built once, then copied."""
    def build() -> None:
        extracts = tmp_path / "extracts"
        register.ok("synth", extracts, "--persons", 300, "--seed", 5)
        register.ok("sources", "add", extracts / "sources.toml")
        register.ok("ingest", "--all")
        register.ok("resolve")

    return snapshots.register("resolved-300-seed-5", register, tmp_path, build)


def declare(path: Path, **sources: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps({"sources": sources}), encoding="utf-8")
    return path


def records(store: Store, source: str) -> dict[str, dict[str, Any]]:
    """The source's records keyed by record_id."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM source_records WHERE source = :s"), {"s": source}
        ).mappings().all()
    return {r["record_id"]: dict(r) for r in rows}


def flags(store: Store, source: str) -> set[tuple[str, str, str, str | None]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT record_id, field, problem, raw_value FROM record_flags "
                    "WHERE source = :s"), {"s": source}
        ).all()
    return {tuple(r) for r in rows}  # type: ignore[misc]


def quarantined(store: Store, source: str) -> list[tuple[int, str | None, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT line, record_id, reason FROM quarantine WHERE source = :s "
                    "ORDER BY line"), {"s": source}
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def review_pair_persons(store: Store) -> dict[int, tuple[Any, ...]]:
    """Every open review pair: the persons and regions stored on it (person_l,
    person_r, region_l, region_r), and then the same as the register has them now:
    each record's person, and their golden region (the two halves must agree)."""
    def now(side: str, column: str) -> str:
        return (f"(SELECT {column} FROM person_records p LEFT JOIN golden_records g "
                f"ON g.person_id = p.person_id WHERE p.source = r.source_{side} "
                f"AND p.record_id = r.record_id_{side})")

    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT id, person_l, person_r, region_l, region_r, "
            f"{now('l', 'p.person_id')}, {now('r', 'p.person_id')}, "
            f"{now('l', 'g.region')}, {now('r', 'g.region')} "
            "FROM review_pairs r WHERE status = 'open'")).all()
    return {int(row[0]): tuple(row[1:]) for row in rows}

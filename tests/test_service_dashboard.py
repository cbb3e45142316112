"""The dashboard's figures are the register's: per source the rows kept, quarantined and
flagged and the valid and failed identifiers, as the ingest reported them, and a batch
ingested while the service runs shows on the next view (the figures are kept between
views until a batch arrives, and counted in the background before that view comes);
the resolution figures are the register's after each run,
and a review pair an officer answers leaves the count at once. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import Register
from muster.service import create_app, overview
from muster.service.accounts import add_account
from muster.store.schema import batches, golden_records, person_events, persons, review_pairs
from service_data import PASSWORD
from test_resolve import resolved  # noqa: F401  (the fixture)
from test_service_web import log_in

ROW = re.compile(r'<tr><th scope="row">(\w+)<br>.*?</th>\s*'
                 r'<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
                 r'\s*((?:<td class="num">\d+ / \d+</td>)+)</tr>', re.S)


def _sources(page: str) -> dict[str, tuple[int, ...]]:
    """Source -> (rows, quarantined, flagged, then valid and failed per identifier)."""
    return {m[1]: (int(m[2]), int(m[3]), int(m[4]),
                   *(int(n) for n in re.findall(r"\d+", m[5]))) for m in ROW.finditer(page)}


RESOLUTION = re.compile(r"<dt>(Persons|Merges|Review list|Persons with conflicting values)"
                        r"</dt><dd>(\d+)</dd>")


def _resolution(page: str) -> dict[str, int]:
    return {name: int(n) for name, n in RESOLUTION.findall(page)}


def _resolution_in(register: Register) -> dict[str, int]:
    """The same figures, counted in the register."""
    def count(table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(condition)).scalar_one())

    with register.store().engine.connect() as conn:
        r = review_pairs.c
        # One entry per two persons: an answer on one of their pairs answers them all.
        entries = {frozenset((left, right)) if left and right and left != right else pair_id
                   for pair_id, left, right in conn.execute(sa.select(
                       r.id, r.person_l, r.person_r).where(r.status == "open"))}
        return {"Persons": count(persons, persons.c.status == "active"),
                "Merges": count(person_events, person_events.c.kind == "merged"),
                "Review list": len(entries),
                "Persons with conflicting values": count(golden_records,
                                                         golden_records.c.conflicts > 0)}


def _reported(register: Register, source: str) -> tuple[int, int, int]:
    """(accepted, quarantined, flagged) as the source's one batch reported them."""
    with register.store().engine.connect() as conn:
        row = conn.execute(sa.select(batches.c.accepted, batches.c.quarantined,
                                     batches.c.flagged).where(batches.c.source == source)).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_the_dashboard_counts_each_source_and_a_new_batch_on_the_next_view(
        register: Register, tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", 300, "--seed", 5)
    register.ok("sources", "add", extracts / "sources.toml")
    register.ok("ingest", "voters", extracts / "voters.csv")
    add_account(register.store(), "admin", PASSWORD, "administrator")
    app = create_app(register.workspace(), "test-secret", database_url=register.database_url)
    with TestClient(app) as browser:
        log_in(browser, "admin")
        first = _sources(browser.get("/").text)
        rows, quarantined, flagged = _reported(register, "voters")
        assert quarantined > 0  # the synthetic extract has bad rows
        assert first["voters"][:3] == (rows, quarantined, flagged)
        assert "tax" not in first  # declared, not yet ingested

        register.ok("ingest", "tax", extracts / "tax.csv")
        second = _sources(browser.get("/").text)
        assert second["voters"] == first["voters"]
        rows, quarantined, flagged = _reported(register, "tax")
        assert flagged > 0
        assert second["tax"][:3] == (rows, quarantined, flagged)
        # Tax records carry tax ids (national_id, tax_id, passport_no: valid, failed),
        # each flagged record for one failing its check.
        assert second["tax"][3:] == (0, 0, rows - flagged, flagged, 0, 0)


def test_the_resolution_figures_follow_each_run_and_each_answered_pair(
        resolved: Register) -> None:  # noqa: F811
    add_account(resolved.store(), "admin", PASSWORD, "administrator")
    app = create_app(resolved.workspace(), "test-secret", database_url=resolved.database_url)
    with TestClient(app) as browser:
        log_in(browser, "admin")
        first = _resolution(browser.get("/").text)
        assert first == _resolution_in(resolved)
        assert first["Review list"] > 0 and first["Persons with conflicting values"] > 0

        # Answered, the pair leaves the review list before any resolution runs.
        resolved.ok("review", "decide", "cases:ns-tver", "cases:ns-bare", "--same",
                    "--reason", "documents checked at the office")
        answered = _resolution(browser.get("/").text)
        assert answered == {**first, "Review list": first["Review list"] - 1}

        # The next run merges the two persons; the page counts what it wrote.
        resolved.ok("resolve")
        merged = _resolution(browser.get("/").text)
        assert merged == _resolution_in(resolved)
        assert merged["Merges"] == first["Merges"] + 1
        assert merged["Persons"] == first["Persons"] - 1


def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the service did not count in the background"
        time.sleep(0.02)


def test_the_service_counts_at_start_and_after_a_batch_before_anyone_looks(
        register: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", 200, "--seed", 8)
    register.ok("sources", "add", extracts / "sources.toml")
    register.ok("ingest", "voters", extracts / "voters.csv")
    add_account(register.store(), "admin", PASSWORD, "administrator")
    counts: list[int] = []
    count_sources = overview._source_overview

    def counting(conn: sa.Connection) -> list[overview.SourceOverview]:
        counts.append(1)
        return count_sources(conn)

    monkeypatch.setattr(overview, "_source_overview", counting)
    monkeypatch.setattr(overview, "_answers", {})  # as in a process just started
    app = create_app(register.workspace(), "test-secret", database_url=register.database_url,
                     recount_seconds=0.05)
    with TestClient(app) as browser:
        _wait_for(lambda: len(counts) == 1)  # at start, before any view
        log_in(browser, "admin")
        first = _sources(browser.get("/").text)
        assert first["voters"][:3] == _reported(register, "voters")
        register.ok("ingest", "tax", extracts / "tax.csv")
        _wait_for(lambda: len(counts) == 2)  # the new batch, still before any view
        second = _sources(browser.get("/").text)
        assert second["tax"][:3] == _reported(register, "tax")
        assert second["voters"] == first["voters"]
        time.sleep(0.2)  # several more looks: nothing new to count
    assert len(counts) == 2  # the views counted nothing themselves

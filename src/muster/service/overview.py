"""The register at a glance, for the dashboard: counts only, never a person.

Per source: rows kept, rows quarantined, records with a flagged field, and for each
identifier how many records carry a valid one and how many one that failed its
check. Resolution: persons, merges, the open review list, persons with conflicting
values. Open cases per kind, limited to an officer's regions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from muster.casework.review_queue import open_entries
from muster.profile.identifiers import IDENTIFIER_FIELDS
from muster.store import Store
from muster.store.schema import (
    batches,
    cases,
    golden_records,
    person_events,
    persons,
    quarantine,
    record_flags,
    resolve_runs,
    source_records,
    sources,
)

T = TypeVar("T")
log = logging.getLogger("muster.service")
# How often a running service looks for a new batch or resolution run (two index reads),
# to count it before anyone opens the dashboard.
RECOUNT_SECONDS = 30.0


@dataclass(frozen=True)
class SourceOverview:
    source: str
    agency: str | None
    rows: int
    quarantined: int
    flagged: int
    identifiers: tuple[tuple[str, int, int], ...]  # (field, valid, failed its check)


@dataclass(frozen=True)
class ResolutionOverview:
    persons: int
    merges: int
    review_open: int  # entries of the review list: one per two persons
    with_conflicts: int


def source_overview(store: Store) -> list[SourceOverview]:
    """Per source, as of the newest batch: the counts change only when a batch is
    ingested, so each process keeps the answer until the next batch (a look at the
    batches is one index read; the counts read every source record: 3.4 s at
    1,000,000 persons on PostgreSQL, on every dashboard)."""
    with store.engine.connect() as conn:
        version = (*conn.execute(sa.select(sa.func.count(), sa.func.max(batches.c.id))).one(),
                   *conn.execute(sa.select(sa.func.count(), sa.func.max(sources.c.added_at))
                                 ).one())
        return _kept(store, "sources", version, lambda: _source_overview(conn))


def _kept(store: Store, name: str, version: tuple[object, ...], count: Callable[[], T]) -> T:
    """``count()`` for this ``version`` of the register, counted once per process:
    a process serves one register, so only the newest answer of each name is kept."""
    key = (str(store.url), *version)
    # One count at a time per name: a view that comes while the background counts waits
    # for that answer instead of counting again beside it.
    with _counting.setdefault(name, threading.Lock()):
        held = _answers.get(name)
        if held is None or held[0] != key:
            held = _answers[name] = (key, count())
    return cast(T, held[1])


_answers: dict[str, tuple[tuple[object, ...], object]] = {}
_counting: dict[str, threading.Lock] = {}


@contextmanager
def counted_in_background(store: Store, every: float = RECOUNT_SECONDS) -> Iterator[None]:
    """Count what the dashboard keeps at once, then again whenever a batch or a
    resolution run has changed it (looked for every ``every`` seconds), from a thread
    of its own: at 1,000,000 persons the first view after a start or a batch otherwise
    waited 1-5 s for the counts. Stops, after the count under way, on leaving."""
    stop = threading.Event()

    def keep_counting() -> None:
        while True:
            try:
                source_overview(store)
                resolution_overview(store)
            except Exception as exc:  # a view counts for itself, and says what failed
                log.warning("could not count the register for the dashboard: %s", exc)
            if stop.wait(every):
                return

    thread = threading.Thread(target=keep_counting, name="muster-dashboard-counts",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _source_overview(conn: sa.Connection) -> list[SourceOverview]:
    s, q, f = source_records.c, quarantine.c, record_flags.c
    agencies = dict(conn.execute(sa.select(sources.c.name, sources.c.agency)).all())
    # One pass over the records for every count of theirs.
    per_source = {str(row[0]): row[1:] for row in conn.execute(sa.select(
        s.source, sa.func.count(), sa.func.count(sa.case((s.flags > 0, 1))),
        *(sa.func.count(s[field]) for field in IDENTIFIER_FIELDS)).group_by(s.source))}
    quarantined = {str(source): int(n) for source, n in conn.execute(
        sa.select(q.source, sa.func.count()).group_by(q.source)).all()}
    failed: dict[tuple[str, str], int] = {
        (str(source), str(field)): int(n) for source, field, n in conn.execute(
            sa.select(f.source, f.field, sa.func.count(sa.distinct(f.record_id)))
            .where(f.field.in_(IDENTIFIER_FIELDS)).group_by(f.source, f.field)).all()}
    overviews = []
    for name in sorted(set(agencies) | set(per_source) | set(quarantined)):
        rows, flagged, *valid = per_source.get(name, (0,) * (2 + len(IDENTIFIER_FIELDS)))
        overviews.append(SourceOverview(
            source=name, agency=agencies.get(name), rows=int(rows),
            quarantined=quarantined.get(name, 0), flagged=int(flagged),
            identifiers=tuple((field, int(n), failed.get((name, field), 0))
                              for field, n in zip(IDENTIFIER_FIELDS, valid, strict=True))))
    return overviews


def resolution_overview(store: Store) -> ResolutionOverview:
    """The persons, merges and conflicts change only when resolution writes, so each
    process keeps them until the next run (they read a million persons, their history
    and golden records: 0.2 s at 1,000,000 persons, on every dashboard). The open
    review list shrinks as officers decide pairs, and is counted every time."""
    def count(query: sa.Select[Any]) -> int:
        return int(conn.execute(query).scalar() or 0)

    def resolved() -> tuple[int, int, int]:
        return (count(sa.select(sa.func.count()).select_from(persons).where(
                    persons.c.status == "active")),
                count(sa.select(sa.func.count()).select_from(person_events).where(
                    person_events.c.kind == "merged")),
                count(sa.select(sa.func.count()).select_from(golden_records).where(
                    golden_records.c.conflicts > 0)))

    with store.engine.connect() as conn:
        run = tuple(conn.execute(sa.select(resolve_runs.c.id, resolve_runs.c.finished_at)
                                 .order_by(resolve_runs.c.id.desc()).limit(1)).first() or ())
        active, merges, with_conflicts = _kept(store, "resolution", run, resolved)
        return ResolutionOverview(
            persons=active, merges=merges, with_conflicts=with_conflicts,
            review_open=count(open_entries()))


def open_cases(store: Store, regions: tuple[str, ...] | None) -> dict[str, int]:
    """Open cases per kind, of persons in ``regions`` (None: all)."""
    query = sa.select(cases.c.kind, sa.func.count()).where(cases.c.status == "open")
    if regions is not None:
        query = query.join(golden_records, golden_records.c.person_id == cases.c.person_id
                           ).where(golden_records.c.region.in_(regions))
    with store.engine.connect() as conn:
        return {str(k): int(n) for k, n in conn.execute(query.group_by(cases.c.kind)).all()}

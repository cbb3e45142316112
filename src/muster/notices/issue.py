"""Issuing a plan's notices: one PDF per selected person who may be called now.

Only from a plan that verifies. A selected person who, since the plan, became not
eligible on its date, has an open case or was merged away gets no notice (they are
reported instead); a person who already has a notice from the plan gets no second.
Large batches render on every core (WeasyPrint is CPU-bound, one document at a time).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from time import perf_counter

import pyarrow as pa
import sqlalchemy as sa

from muster.callup import not_callable, ticket
from muster.callup.plan import Plan, load_plan
from muster.callup.verify import verify_plan
from muster.casework.cases import DEFERMENT_GROUNDS
from muster.eligibility.law import load_law
from muster.errors import ConflictError, MusterError
from muster.notices.render import NoticeContext, NoticeSettings, Renderer, notice_settings
from muster.profile import Profile
from muster.store import Store
from muster.store.bulk import bulk_transaction
from muster.store.schema import golden_records, notices

PARALLEL_FROM = 64  # fewer notices than this render in this process
STATUS_TEXT = {"conscript": "eligible for conscription", "reserve": "eligible for the reserve"}


@dataclass(frozen=True)
class IssueReport:
    plan_id: int
    issued: int
    already: int  # selected persons who had a notice from this plan already
    skipped: tuple[tuple[str, str, int, str], ...]  # (person, region, rank, why)
    out: Path
    seconds: float


def _name(row: dict[str, object]) -> str:
    parts = [row.get("family_name"), row.get("given_name"), row.get("middle_name")]
    return " ".join(str(p) for p in parts if p) or str(row["person_id"])


def _contexts(store: Store, profile: Profile, plan: Plan, candidates: pa.Table,
              chosen: list[dict[str, object]], settings: NoticeSettings,
              issued: datetime) -> list[NoticeContext]:
    ids = [str(r["person_id"]) for r in chosen]
    people: dict[str, dict[str, object]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            rows = conn.execute(sa.select(
                golden_records.c.person_id, golden_records.c.family_name,
                golden_records.c.given_name, golden_records.c.middle_name,
                golden_records.c.birth_date).where(
                golden_records.c.person_id.in_(ids[start:start + 5000]))).mappings().all()
            people.update({r["person_id"]: dict(r) for r in rows})
    per_region: dict[str, int] = {}
    for region in candidates.column("region").to_pylist():
        per_region[region] = per_region.get(region, 0) + 1
    law = load_law(profile)
    title = law.title if (law.name, law.version) == (plan.law_name, plan.law_version) \
        else plan.law_name
    names = {r.code: r.name for r in profile.regions.regions}
    report_on = (issued + timedelta(days=settings.report_after_days)).date().isoformat()
    out = []
    for r in chosen:
        pid, region, rank = str(r["person_id"]), str(r["region"]), int(r["rank"])  # type: ignore[call-overload]
        person = people[pid]
        office_name, office_address = settings.office(region, names.get(region, region))
        birth = person.get("birth_date")
        out.append(NoticeContext(
            jurisdiction=profile.title, reference=f"{plan.id}/{region}/{rank}",
            issued_on=issued.date().isoformat(), person_id=pid, full_name=_name(person),
            birth_date=birth.isoformat() if birth else None,  # type: ignore[attr-defined]
            region=region, region_name=names.get(region, region), office_name=office_name,
            office_address=office_address, report_on=report_on,
            report_days=settings.report_after_days, law_title=title,
            law_name=plan.law_name, law_version=plan.law_version,
            as_of=plan.as_of.isoformat(), status_text=STATUS_TEXT[plan.category],
            plan_id=plan.id, seed=plan.seed, seed_short=plan.seed[:12],
            ticket=ticket(plan.seed, pid), rank=rank, candidates=per_region.get(region, 0),
            quota=plan.quotas.get(region, 0), appeal_days=settings.appeal_days,
            deferment_grounds=", ".join(g.replace("_", " ") for g in DEFERMENT_GROUNDS)))
    return out


def file_name(ctx: NoticeContext) -> str:
    return f"notice-{ctx.plan_id}-{ctx.region}-{ctx.rank:05d}-{ctx.person_id}.pdf"


_worker: Renderer | None = None


def _init_worker(settings: NoticeSettings) -> None:
    global _worker
    _worker = Renderer(settings)


def _render_batch(batch: list[tuple[NoticeContext, str]]) -> list[str]:
    """Render and write a batch of notices; returns each file's sha256."""
    assert _worker is not None
    digests = []
    for ctx, path in batch:
        data = _worker.pdf(ctx)
        Path(path).write_bytes(data)
        digests.append(hashlib.sha256(data).hexdigest())
    return digests


def render_all(settings: NoticeSettings, jobs: list[tuple[NoticeContext, str]],
               workers: int | None = None,
               progress: Callable[[int], None] | None = None) -> list[str]:
    """Render ``(context, path)`` jobs, in parallel when there are many; sha256 each."""
    workers = workers or os.cpu_count() or 1
    if len(jobs) < PARALLEL_FROM or workers == 1:
        _init_worker(settings)
        digests = []
        for i in range(0, len(jobs), 50):
            digests += _render_batch(jobs[i:i + 50])
            if progress:
                progress(len(digests))
        return digests
    # Small batches keep every worker busy to the end (a notice takes tens of ms).
    size = max(10, min(50, len(jobs) // (workers * 4)))
    batches = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    digests = []
    # spawn: a fresh interpreter, never a fork of a process holding database drivers.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(settings,)) as pool:
        for part in pool.map(_render_batch, batches):
            digests += part
            if progress:
                progress(len(digests))
    return digests


def issue_notices(store: Store, profile: Profile, plan_id: int, out: Path, actor: str,
                  limit: int | None = None,
                  progress: Callable[[str], None] | None = None) -> IssueReport:
    started = perf_counter()
    step = progress or (lambda _text: None)
    try:  # before any work: a folder that cannot be made fails at once
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MusterError(f"Cannot write the notices into {out}: {exc.strerror}.",
                          hint="Name a folder you may write to (it is made if absent).") from None
    step("verifying the plan")
    check = verify_plan(store, plan_id)
    if not check.ok:
        raise ConflictError(
            f"Plan {plan_id} does not verify; no notice is issued from it:\n  - "
            + "\n  - ".join(check.differences[:10]),
            hint=f"See `muster callup verify {plan_id}`; make a new plan.")
    plan, candidates, selection = load_plan(store, plan_id)
    skipped = {p: (p, region, rank, why) for p, region, rank, why in not_callable(store, plan)}
    with store.engine.connect() as conn:
        have = set(conn.execute(sa.select(notices.c.person_id).where(
            notices.c.plan_id == plan_id)).scalars())
    chosen = [r for r in selection.to_pylist()
              if r["person_id"] not in have and r["person_id"] not in skipped]
    if limit is not None:
        chosen = chosen[:limit]
    settings = notice_settings(profile)
    issued_at = datetime.now(UTC)
    contexts = _contexts(store, profile, plan, candidates, chosen, settings, issued_at)
    jobs = [(ctx, str(out / file_name(ctx))) for ctx in contexts]
    step(f"rendering {len(jobs):,} notices")
    digests = render_all(settings, jobs, progress=lambda n: step(
        f"rendered {n:,} of {len(jobs):,} notices"))
    _record(store, plan_id, jobs, digests, actor, issued_at)
    return IssueReport(plan_id, len(jobs), len(have & {r["person_id"] for r in
                                                         selection.to_pylist()}),
                       tuple(v for v in skipped.values() if v[0] not in have), out,
                       perf_counter() - started)


def _record(store: Store, plan_id: int, jobs: list[tuple[NoticeContext, str]],
            digests: list[str], actor: str, at: datetime) -> None:
    if not jobs:
        return
    rows = pa.Table.from_pylist([{
        "plan_id": plan_id, "person_id": ctx.person_id, "region": ctx.region,
        "rank": ctx.rank, "status": "issued", "file": str(Path(path).resolve()),
        "file_sha256": digest, "issued_at": at, "updated_at": at,
    } for (ctx, path), digest in zip(jobs, digests, strict=True)])
    with bulk_transaction(store) as db:
        db.append("notices", rows)
        db.execute(
            "INSERT INTO notice_events (notice_id, at, actor, from_status, to_status) "
            "SELECT n.id, n.issued_at, ?, NULL, 'issued' FROM notices n WHERE n.plan_id = ? "
            "AND NOT EXISTS (SELECT 1 FROM notice_events e WHERE e.notice_id = n.id)",
            (actor, plan_id))
        db.commit()


@dataclass(frozen=True)
class NoticeStatus:
    plan: Plan
    counts: dict[str, int]  # status -> notices
    by_region: list[tuple[str, str, int]]  # (region, status, notices)
    without_notice: int  # selected persons with no notice (not callable, or not yet issued)


def plan_status(store: Store, plan_id: int) -> NoticeStatus:
    plan, _, selection = load_plan(store, plan_id)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(notices.c.region, notices.c.status, sa.func.count())
                            .where(notices.c.plan_id == plan_id)
                            .group_by(notices.c.region, notices.c.status)).all()
    counts: dict[str, int] = {}
    for _, status, n in rows:
        counts[status] = counts.get(status, 0) + int(n)
    return NoticeStatus(plan, counts, sorted((str(r), str(s), int(n)) for r, s, n in rows),
                        selection.num_rows - sum(counts.values()))


def list_notices(store: Store, plan_id: int, status: str | None = None) -> list[dict[str, object]]:
    query = sa.select(notices).where(notices.c.plan_id == plan_id).order_by(
        notices.c.region, notices.c.rank)
    if status:
        query = query.where(notices.c.status == status)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings().all()]


def notice_history(store: Store, notice_id: int) -> tuple[dict[str, object],
                                                          list[dict[str, object]]]:
    from muster.errors import NotFound
    from muster.store.schema import notice_events

    with store.engine.connect() as conn:
        notice = conn.execute(sa.select(notices).where(notices.c.id == notice_id)
                              ).mappings().first()
        if notice is None:
            raise NotFound(f"There is no notice {notice_id}.",
                           hint="List a plan's notices with `muster notices list PLAN_ID`.")
        events = conn.execute(sa.select(notice_events).where(
            notice_events.c.notice_id == notice_id).order_by(notice_events.c.id)
        ).mappings().all()
    return dict(notice), [dict(e) for e in events]

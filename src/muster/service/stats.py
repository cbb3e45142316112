"""Aggregates for analysts: counts per region, never a person (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from muster.eligibility.explain import newest_evaluation
from muster.store import Store
from muster.store.schema import eligibility_results, golden_records


@dataclass
class RegionCounts:
    region: str | None
    persons: int
    statuses: dict[str, int] = field(default_factory=dict)


def region_counts(store: Store, regions: tuple[str, ...] | None = None
                  ) -> tuple[date | None, list[RegionCounts]]:
    """Persons per golden region, and their statuses in the newest current evaluation
    (its date is returned with them); ``regions`` limits the answer to those regions."""
    g, r = golden_records.c, eligibility_results.c
    persons_q = sa.select(g.region, sa.func.count()).group_by(g.region)
    if regions is not None:
        persons_q = persons_q.where(g.region.in_(regions))
    with store.engine.connect() as conn:
        counts = {region: RegionCounts(region, int(n))
                  for region, n in conn.execute(persons_q).all()}
        run = conn.execute(newest_evaluation()).first()
        if run is not None:
            status_q = sa.select(r.region, r.status, sa.func.count()).where(
                r.run_id == run.id).group_by(r.region, r.status)
            if regions is not None:
                status_q = status_q.where(r.region.in_(regions))
            for region, status, n in conn.execute(status_q).all():
                counts.setdefault(region, RegionCounts(region, 0)).statuses[status] = int(n)
    ordered = sorted(counts.values(), key=lambda c: (c.region is None, c.region or ""))
    return (run.as_of if run is not None else None), ordered

"""Charts laid out on the server, so they need no JavaScript: the eligibility of each
region as stacked bars, and each link's match weight as bars either side of zero."""

from __future__ import annotations

from typing import Any

from muster.service.stats import RegionCounts
from muster.service.web.contexts import Bar, RegionChart, StatusSegment


def region_charts(counts: list[RegionCounts]) -> tuple[list[RegionChart], list[str]]:
    """One stacked bar per region (shares of its persons by status), and the legend."""
    statuses = sorted({s for c in counts for s in c.statuses})
    charts = []
    for c in counts:
        total = sum(c.statuses.values()) or 1
        charts.append(RegionChart(
            region=c.region or "(no region)", persons=c.persons,
            segments=[StatusSegment(status=s, count=c.statuses[s],
                                    percent=round(100 * c.statuses[s] / total, 1))
                      for s in statuses if c.statuses.get(s)]))
    return charts, statuses


def weight_bars(contributions: dict[str, Any] | None) -> list[Bar]:
    """Each comparison's weight (log2 of the odds it adds) as a bar from the centre line:
    right for evidence that the records are one person, left against."""
    if not contributions:
        return []
    items = [(f"{name}: {level}", float(weight))
             for name, (level, weight) in contributions.items()]
    scale = max(abs(w) for _, w in items) or 1.0
    bars = []
    for label, weight in items:
        width = round(50 * abs(weight) / scale, 2)
        bars.append(Bar(label=label, value=round(weight, 2), width=width, positive=weight >= 0,
                        x=50.0 if weight >= 0 else round(50 - width, 2)))
    return bars

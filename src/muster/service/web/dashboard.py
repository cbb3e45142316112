"""The dashboard: sources, resolution, eligibility per region, open work. Counts only,
so it writes no audit entry; an analyst's has nothing else."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from muster.casework.cases import KINDS
from muster.service import access
from muster.service.accounts import ANALYST, CITIZEN
from muster.service.overview import open_cases, resolution_overview, source_overview
from muster.service.state import Service
from muster.service.stats import region_counts
from muster.service.web.charts import region_charts
from muster.service.web.contexts import (
    AnalystDashboard,
    IdentifierValidity,
    QueueCount,
    ResolutionCounts,
    SourceCounts,
    StaffDashboard,
)
from muster.service.web.deps import AccountDep, ServiceDep
from muster.service.web.render import render

router = APIRouter(include_in_schema=False)


def _aggregates(svc: Service, regions: tuple[str, ...] | None) -> dict[str, object]:
    as_of, counts = region_counts(svc.store, regions)
    charts, statuses = region_charts(counts)
    resolution = resolution_overview(svc.store)
    return {
        "sources": [SourceCounts(
            source=s.source, agency=s.agency, rows=s.rows, quarantined=s.quarantined,
            flagged=s.flagged, identifiers=[
                IdentifierValidity(field=f, present=ok, invalid=bad)
                for f, ok, bad in s.identifiers]) for s in source_overview(svc.store)],
        "resolution": ResolutionCounts(
            persons=resolution.persons, merges=resolution.merges,
            review_open=resolution.review_open, with_conflicts=resolution.with_conflicts),
        "eligibility_as_of": as_of, "regions": charts, "statuses": statuses,
    }


@router.get("/")
def dashboard(request: Request, svc: ServiceDep, account: AccountDep) -> Response:
    if account.role == CITIZEN:  # a citizen's home is the portal
        return RedirectResponse("/portal", status_code=303)
    regions = access.require_stats(account)
    if account.role == ANALYST:
        page: AnalystDashboard | StaffDashboard = AnalystDashboard.model_validate(
            _aggregates(svc, regions))
        template = "dashboard_analyst.html"
    else:
        waiting = open_cases(svc.store, regions)
        page = StaffDashboard.model_validate({
            **_aggregates(svc, regions), "scope": list(regions) if regions else None,
            "queues": [QueueCount(kind=k, open=waiting.get(k, 0)) for k in KINDS]})
        template = "dashboard.html"
    return render(request, template, page, title="Dashboard", account=account)

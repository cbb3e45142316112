"""Call-up: plans drawn by a publicly verifiable lottery, saved immutably.

    quotas.py   the quotas file (region,quota)
    lottery.py  the seed and the order: SHA-256 of "<seed>:<person_id>", per region
    plan.py     candidates, drawing, saving, listing and exporting plans
    verify.py   recomputing a saved plan from scratch; who of it may be called now

See docs/callup.md.
"""

from muster.callup.lottery import check_seed, draw, new_seed, ticket
from muster.callup.plan import (
    CATEGORIES,
    Plan,
    PlanReport,
    create_plan,
    export_callup,
    export_candidates,
    list_plans,
    load_plan,
)
from muster.callup.quotas import read_quotas
from muster.callup.verify import Verification, not_callable, verify_plan

__all__ = [
    "CATEGORIES", "Plan", "PlanReport", "Verification", "check_seed", "create_plan", "draw",
    "export_callup", "export_candidates", "list_plans", "load_plan", "new_seed",
    "not_callable", "read_quotas", "ticket", "verify_plan",
]

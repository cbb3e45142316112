"""A register for call-up, notice and casework tests, written directly (no linkage run).

Eligible conscripts in TVE, YAR and MOW, with persons of every other status mixed
in (deferred, exempt, not subject, needs clarification, reserve) in the same regions.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from conftest import Register
from eligibility_data import man, write_register

AS_OF = "2024-06-01"
SEED = "00c0ffee"


def _id(n: int) -> str:
    return f"P{n:09d}"


def persons() -> list[dict[str, Any]]:
    people = []
    n = 0
    for region, eligible in (("TVE", 12), ("YAR", 3), ("MOW", 6)):
        for _ in range(eligible):
            n += 1
            people.append(man(_id(n), region=region, family_name=f"Иванов{n}"))
        others = [
            {"dependents": 3},                                     # deferred
            {"student_until": date(2025, 6, 30)},                  # deferred
            {"fitness_category": "D"},                             # exempt
            {"sex": "F"},                                          # not subject
            {"birth_date": date(2008, 1, 1)},                      # under age
            {"fitness_category": None},                            # needs clarification
            {"conflicts": {"birth_date": [(date(1999, 3, 11), "voters")]}},  # idem
            {"military_rank": "sergeant"},                         # reserve, not conscript
        ]
        for facts in others:
            n += 1
            people.append(man(_id(n), region=region, **facts))
    return people


def eligible_ids(status: str = "eligible_conscript") -> set[str]:
    return {p["person_id"] for p in persons() if _status(p) == status}


def _status(p: dict[str, Any]) -> str:
    if p.get("sex") == "F" or p.get("birth_date", date(1999, 3, 10)).year > 2006:
        return "not_subject"
    if p.get("fitness_category", "A") == "D":
        return "exempt"
    if p.get("fitness_category", "A") is None or p.get("conflicts"):
        return "needs_clarification"
    if p.get("dependents") or p.get("student_until"):
        return "deferred"
    if p.get("military_rank"):
        return "eligible_reserve"
    return "eligible_conscript"


def build(register: Register) -> Register:
    write_register(register.store(), persons())
    register.ok("eligibility", "evaluate", "--as-of", AS_OF)
    return register


def lottery(seed: str, candidates: list[tuple[str, str]],
            quotas: dict[str, int]) -> list[tuple[str, int, str]]:
    """The published rule, re-implemented in a few lines: (region, rank, person_id)."""
    out = []
    for region, quota in sorted(quotas.items()):
        ids = sorted((p for r, p in candidates if r == region),
                     key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
        out += [(region, rank, p) for rank, p in enumerate(ids[:quota], start=1)]
    return out

"""Call-up plans on SQLite and PostgreSQL: who may be selected, exact quotas and
shortfalls, the lottery re-implemented independently, verification and tampering."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from callup_data import AS_OF, SEED, build, eligible_ids, lottery, persons
from conftest import Register
from helpers import read_csv
from muster.casework.cases import open_case
from muster.casework.decide import claim_deferment
from muster.store.schema import callup_plans, callup_selection, eligibility_results

QUOTAS = {"TVE": 5, "YAR": 5, "MOW": 2}


def _quotas(tmp_path: Path, quotas: dict[str, int] = QUOTAS) -> Path:
    path = tmp_path / "quotas.csv"
    path.write_text("region,quota\n" + "".join(f"{r},{q}\n" for r, q in quotas.items()),
                    encoding="utf-8")
    return path


def _plan(register: Register, tmp_path: Path, *extra: str) -> tuple[str, int]:
    out = register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", _quotas(tmp_path), *extra)
    with register.store().engine.connect() as conn:
        plan_id = int(conn.execute(sa.select(sa.func.max(callup_plans.c.id))).scalar_one())
    return out, plan_id


def _exports(register: Register, tmp_path: Path, plan_id: int) -> tuple[list[dict[str, str]],
                                                                        list[dict[str, str]]]:
    register.ok("export", "callup", plan_id, "--out", tmp_path / "callup.csv")
    register.ok("export", "candidates", plan_id, "--out", tmp_path / "candidates.csv")
    return read_csv(tmp_path / "callup.csv"), read_csv(tmp_path / "candidates.csv")


def test_plan_selects_only_eligible_without_open_cases(register: Register,
                                                       tmp_path: Path) -> None:
    build(register)
    store = register.store()
    # Two eligible men with open cases: a deferment claim and a clarification.
    claim_deferment(store, "P000000001", "student", "certificate 7", "studies", "citizen")
    open_case(store, "P000000021", "clarification", "address unclear", {}, "officer")
    out, plan_id = _plan(register, tmp_path, "--seed", SEED)
    selection, candidates = _exports(register, tmp_path, plan_id)

    assert list(selection[0]) == ["region", "rank", "person_id"]
    assert list(candidates[0]) == ["region", "person_id"]
    by_id = {p["person_id"]: p for p in persons()}
    allowed = eligible_ids() - {"P000000001", "P000000021"}
    assert {c["person_id"] for c in candidates} == {
        p for p in allowed if by_id[p]["region"] in QUOTAS}
    assert {s["person_id"] for s in selection} <= allowed
    for row in selection:  # region is the person's golden region
        assert by_id[row["person_id"]]["region"] == row["region"]
    # Quotas exact where there are enough candidates, all candidates where not.
    per_region = {r: [s for s in selection if s["region"] == r] for r in QUOTAS}
    assert len(per_region["TVE"]) == 5
    assert len(per_region["MOW"]) == 2
    assert len(per_region["YAR"]) == 2  # 3 eligible, one with an open case, for 5 places
    assert [int(s["rank"]) for s in per_region["TVE"]] == [1, 2, 3, 4, 5]
    assert "Shortfall" in out and "YAR 3" in out
    with store.engine.connect() as conn:
        plan = conn.execute(sa.select(callup_plans)).mappings().one()
    assert json.loads(plan["shortfall"]) == {"YAR": 3}
    assert json.loads(plan["quotas"]) == QUOTAS
    assert plan["seed"] == SEED and plan["law_version"] == "2024-01-01"


def test_an_independent_lottery_gives_the_same_plan(register: Register, tmp_path: Path) -> None:
    build(register)
    _, plan_id = _plan(register, tmp_path)  # a seed drawn by the system
    with register.store().engine.connect() as conn:
        seed = conn.execute(sa.select(callup_plans.c.seed)).scalar_one()
    assert len(seed) == 64 and seed == seed.lower()
    selection, candidates = _exports(register, tmp_path, plan_id)
    again = lottery(seed, [(c["region"], c["person_id"]) for c in candidates], QUOTAS)
    assert [(s["region"], int(s["rank"]), s["person_id"]) for s in selection] == again
    assert "Plan 1 verifies" in register.ok("callup", "verify", plan_id)
    listed = register.ok("callup", "list")
    assert "1" in listed and seed[:16] in listed


def test_verify_detects_a_tampered_plan(register: Register, tmp_path: Path) -> None:
    build(register)
    _, plan_id = _plan(register, tmp_path, "--seed", SEED)
    store = register.store()
    with store.engine.connect() as conn:
        picked = set(conn.execute(sa.select(callup_selection.c.person_id)).scalars())
    outsider = sorted(eligible_ids() - picked - {"P000000013", "P000000014", "P000000015"})[0]
    # Someone swaps the first selected person in TVE for an unselected candidate.
    with store.engine.begin() as conn:
        conn.execute(callup_selection.update().where(
            callup_selection.c.region == "TVE", callup_selection.c.rank == 1).values(
            person_id=outsider))
    result = register.run("callup", "verify", plan_id)
    assert result.exit_code == 1
    assert "does NOT verify" in result.out and "digest does not match" in result.out
    assert f"the plan has {outsider}" in result.out
    # Notices are never issued from a plan that does not verify.
    refused = register.run("notices", "issue", plan_id, "--out", tmp_path / "n")
    assert refused.exit_code == 2 and "does not verify" in refused.err


def test_verify_detects_an_edited_seed_or_quota(register: Register, tmp_path: Path) -> None:
    build(register)
    _, plan_id = _plan(register, tmp_path, "--seed", SEED)
    store = register.store()
    with store.engine.begin() as conn:
        conn.execute(callup_plans.update().values(quotas=json.dumps({**QUOTAS, "TVE": 4})))
    result = register.run("callup", "verify", plan_id)
    assert result.exit_code == 1 and "TVE rank 5" in result.out


def test_deferred_or_ineligible_now_are_reported_not_called(register: Register,
                                                            tmp_path: Path) -> None:
    """A selected person whose stored status changed since the plan stays in the plan
    (it is immutable) but verify names them and they get no notice."""
    build(register)
    _, plan_id = _plan(register, tmp_path, "--seed", SEED)
    store = register.store()
    with store.engine.connect() as conn:
        first = conn.execute(sa.select(callup_selection.c.person_id).where(
            callup_selection.c.region == "TVE", callup_selection.c.rank == 1)).scalar_one()
    with store.engine.begin() as conn:
        conn.execute(eligibility_results.update().where(
            eligibility_results.c.person_id == first).values(status="deferred",
                                                             ground="dependents"))
    out = register.ok("callup", "verify", plan_id)
    assert f"{first} — now deferred (dependents)" in out


def test_plan_errors_are_clear(register: Register, tmp_path: Path) -> None:
    build(register)
    bad = tmp_path / "bad.csv"
    # A quota too large for the register, or a digit int() does not read, failed with
    # "Unexpected error".
    bad.write_text("region,quota\nXXX,3\nTVE,-1\nTVE,2\nMOW,x\nSPE,99999999999999999999\n"
                   "MOS,²\n", encoding="utf-8")
    result = register.run("callup", "plan", "--as-of", AS_OF, "--quotas", bad)
    assert result.exit_code == 2
    for problem in ("'XXX' is not a region", "quota '-1'", "TVE is listed twice", "quota 'x'",
                    "quota '99999999999999999999' is not a whole number from 0 to 2,147,483,647",
                    "quota '²'"):
        assert problem in result.err
    result = register.run("callup", "plan", "--as-of", "2030-01-01", "--quotas",
                          _quotas(tmp_path))
    assert result.exit_code == 2 and "muster eligibility evaluate --as-of 2030-01-01" in result.err
    result = register.run("callup", "plan", "--as-of", AS_OF, "--quotas", _quotas(tmp_path),
                          "--seed", "not-hex")
    assert result.exit_code == 2 and "not hexadecimal" in result.err
    result = register.run("callup", "verify", 99)
    assert result.exit_code == 2 and "no call-up plan 99" in result.err


def test_reserve_plan_selects_reservists(register: Register, tmp_path: Path) -> None:
    build(register)
    _, plan_id = _plan(register, tmp_path, "--category", "reserve", "--seed", SEED)
    selection, _ = _exports(register, tmp_path, plan_id)
    assert {s["person_id"] for s in selection} == eligible_ids("eligible_reserve") - {
        p["person_id"] for p in persons() if p["region"] not in QUOTAS}

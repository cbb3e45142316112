"""A small real register for the web pages' end-to-end tests: synthetic extracts
ingested, resolved and evaluated through the command line (so recording an officer's
verified value can resolve the person again), with an officer bound to one region
and a citizen who is a man of that region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from muster.cli import main
from muster.service.accounts import add_account
from muster.store import Store, open_store
from muster.store.schema import eligibility_results, golden_records
from muster.workspace import DATABASE_ENV, Workspace, create_workspace

AS_OF = date.today().isoformat()  # synthetic ages are counted from today
PASSWORD = "correct horse battery"


@dataclass
class RealRegister:
    workspace: Workspace
    store: Store
    url: str
    region: str  # the officer's region
    citizen: str  # the citizen's person, in the officer's region
    family_name: str  # the citizen's golden family name, to search by
    other_region_person: str  # a person the officer may not see


def muster_ok(root: Path, *args: str | Path) -> None:
    """Run a muster command in the workspace at ``root``; it must succeed."""
    try:
        main(["--workspace", str(root), *(str(a) for a in args)])
    except SystemExit as exc:
        assert not exc.code, f"muster {' '.join(map(str, args))} failed"


def synthetic_register(root: Path, url: str, env: pytest.MonkeyPatch, as_of: str,
                       persons: int = 200) -> tuple[Workspace, Store]:
    """``persons`` synthetic persons' extracts ingested, resolved and evaluated on
    ``as_of`` through the command line, in a workspace on the database at ``url``.

    Splink trains poorly on a few hundred persons: at 200, most persons have a record in
    an uncertain pair of the review list, which holds them from any call-up
    (``identity_in_review``). At 1,500, a few dozen are eligible."""
    if url.startswith("postgresql"):
        env.setenv(DATABASE_ENV, url)
    else:
        env.delenv(DATABASE_ENV, raising=False)
    workspace = create_workspace(root / "ws")
    extracts = root / "extracts"
    muster_ok(workspace.root, "synth", extracts, "--persons", str(persons), "--seed", "11")
    muster_ok(workspace.root, "sources", "add", extracts / "sources.toml")
    muster_ok(workspace.root, "ingest", "--all")
    muster_ok(workspace.root, "resolve")
    muster_ok(workspace.root, "eligibility", "evaluate", "--as-of", as_of)
    return workspace, open_store(url)


def build_real_register(root: Path, url: str, env: pytest.MonkeyPatch) -> RealRegister:
    workspace, store = synthetic_register(root, url, env, AS_OF)
    g = golden_records.c
    with store.engine.connect() as conn:
        people = conn.execute(sa.select(g.region, g.person_id, g.family_name).join(
            eligibility_results, eligibility_results.c.person_id == g.person_id).where(
            g.family_name.is_not(None), g.region.is_not(None), g.sex == "M")
            .order_by(g.region, g.person_id)).all()
    regions = [str(r.region) for r in people]
    region = max(set(regions), key=lambda r: (regions.count(r), r))
    citizen = next(r for r in people if r.region == region)
    other = next(r for r in people if r.region != region)
    add_account(store, "admin", PASSWORD, "administrator")
    add_account(store, "officer", PASSWORD, "officer", regions=[region],
                known_regions=workspace.profile().regions.codes)
    add_account(store, "citizen", PASSWORD, "citizen", person_id=str(citizen.person_id))
    return RealRegister(workspace, store, url, region, str(citizen.person_id),
                        str(citizen.family_name), str(other.person_id))

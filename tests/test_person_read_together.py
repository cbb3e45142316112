"""A person's page is read in one statement on PostgreSQL (store/together.py): it must
give exactly what reading each of its queries alone gives, value for value, type for
type, in the same order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from muster.casework.cases import open_case
from muster.profile import load_profile
from muster.resolve.queries import person_params, person_view, person_view_of
from muster.service import reads
from muster.service.accounts import get_account
from muster.service.state import Service
from muster.store import Store
from muster.store.schema import link_edges, person_events
from muster.workspace import create_workspace
from service_data import IN_REGION, OUT_OF_REGION, add_work, build_register


def _each_alone(store: Store, person_id: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of every query of a person's page, each query run by itself."""
    with store.engine.connect() as conn:
        return {name: [dict(r) for r in conn.execute(q.select.order_by(*q.order),
                                                      person_params(person_id)).mappings()]
                for name, q in reads._READ_QUERIES.items()}


def test_a_person_read_at_once_is_the_person_read_query_by_query(
        store: Store, tmp_path: Path) -> None:
    profile = load_profile("default")
    build_register(store, profile)
    add_work(store, profile, tmp_path / "notices")  # a notice, with its events
    open_case(store, IN_REGION, "correction", "the address is stale",
              {"field": "address", "value": "ул. Новая, 1"}, "officer")
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(link_edges.insert(), [
            {"run_id": 1, "source_l": "passports", "record_id_l": "R0", "source_r": "voters",
             "record_id_r": "V9", "rule": "splink", "match_weight": 23.456789012345,
             "outcome": "linked", "reason": None,
             "contributions": json.dumps([[4, 7.61], [4, 6.5], None, [3, 9.02], [1, 0.1],
                                          [1, 1.25], [0, -0.5]])},
            {"run_id": 1, "source_l": "passports", "record_id_l": "R0", "source_r": "tax",
             "record_id_r": "T1", "rule": "national_id", "match_weight": None,
             "outcome": "linked", "reason": None, "contributions": None}])
        conn.execute(person_events.insert().values(  # a merge that retired another id
            run_id=2, at=now, kind="merged", person_id=IN_REGION,
            old_ids=json.dumps(["P000000777", IN_REGION]), new_ids=json.dumps([IN_REGION]),
            detail="merged"))
    svc = Service(store=store, profile=profile, workspace=create_workspace(tmp_path / "ws"),
                  sessions=None, throttle=None)  # type: ignore[arg-type]

    for person_id in (IN_REGION, OUT_OF_REGION):
        alone = _each_alone(store, person_id)
        read = reads.read_person(svc, get_account(store, "admin"), person_id, "casework")
        assert read.eligibility == alone["eligibility"] and read.eligibility
        # The contested values as queried, the agreed ones from the sources kept with
        # the person (store/provenance.py): compared below, as part of the whole view.
        assert read.view.values and all(v["source"] for v in read.view.values)
        assert read.view.history == alone["history"]
        assert read.view.records == sorted(alone["records"],
                                           key=lambda r: (r["source"], r["record_id"]))
        assert [c.id for c in read.cases] == [int(r["id"]) for r in alone["cases"]]
        assert [n["id"] for n in read.notices] == [r["id"] for r in alone["notices"]]
        events = [e for n in read.notices for e in n["events"]]
        assert sorted(events, key=lambda e: e["id"]) == alone["notice_events"]
        assert read.notices[0]["events"] and {k: v for k, v in read.notices[0].items()
                                               if k != "events"} == alone["notices"][0]
        with store.engine.connect() as conn:  # the person and links too, as queried alone
            assert read.view == person_view_of(conn, person_id, alone)
        assert read.view == person_view(store, person_id)

    read = reads.read_person(svc, get_account(store, "admin"), IN_REGION, "casework")
    assert [c.kind for c in read.cases] == ["correction"]
    assert [(link["record_id_r"], link["match_weight"]) for link in read.view.links] == [
        ("T1", None), ("V9", 23.456789012345)]  # no weight first, as the page shows them
    assert read.view.links[1]["contributions"]["birth_date"] == [3, 9.02]
    assert "middle_name" not in read.view.links[1]["contributions"]
    assert [h["kind"] for h in read.view.history] == ["created", "case_opened", "merged"]
    assert isinstance(read.view.history[2]["at"], datetime)

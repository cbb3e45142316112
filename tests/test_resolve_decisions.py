"""Officers answer the review list: "same person" links a pair, "different persons"
keeps it apart through any chain of links, and neither overrides the cannot-link
rules. Decisions hold in the next incremental run and in every full run after it."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import Register
from helpers import declare
from muster.profile import load_profile
from muster.service.accounts import add_account, create_token
from muster.service.app import create_app
from test_resolve import (  # noqa: F401
    _links,
    _national_id,
    _resolve_a_new_source,
    _voters,
    resolved,
)

REASON = ("--reason", "documents checked at the office")


def test_decisions_link_separate_and_never_override_the_rules(resolved: Register,  # noqa: F811
                                                               tmp_path: Path) -> None:
    before = _links(resolved, tmp_path / "before.csv")
    person = {rid: before[("cases", rid)] for rid in
              ("dm-1", "dm-2", "ns-bare", "ns-tver", "ns-yar", "father", "son")}
    assert person["dm-1"] == person["dm-2"]  # linked by the model
    assert person["ns-bare"] not in (person["ns-tver"], person["ns-yar"])  # ambiguous
    assert "cases:ns-bare" in resolved.ok("review", "list", "--kind", "ambiguous",
                                          "--limit", "1000")

    out = resolved.ok("review", "decide", "cases:dm-1", "cases:dm-2", "--different", *REASON)
    assert "different persons" in out
    out = resolved.ok("review", "decide", "cases:ns-tver", "cases:ns-bare", "--same", *REASON)
    assert "1 review entry closed" in out
    resolved.ok("review", "decide", "cases:father", "cases:son", "--same", *REASON)
    # The answered pair leaves the review list at once, before any resolution.
    ambiguous = resolved.ok("review", "list", "--kind", "ambiguous", "--limit", "1000")
    assert "cases:ns-tver" not in ambiguous

    for run in (("resolve",), ("resolve", "--full")):  # pending decisions, then a rebuild
        out = resolved.ok(*run)
        assert "Nothing new since the last run" not in out
        after = _links(resolved, tmp_path / f"after-{len(run)}.csv")
        now = {rid: after[("cases", rid)] for rid in person}
        assert now["dm-1"] != now["dm-2"]
        assert now["ns-bare"] == now["ns-tver"] != now["ns-yar"]
        assert now["father"] != now["son"]  # born 28 years apart: no officer can merge them
        untouched = {k: v for k, v in before.items() if k[0] != "cases"}
        assert {k: after[k] for k in untouched} == untouched

    why = resolved.ok("person", "explain", "cases:dm-1", "cases:dm-2")
    assert "different persons" in why and "an officer decided" in why
    why = resolved.ok("person", "explain", "cases:ns-tver", "cases:ns-bare")
    assert "the same person" in why
    assert "Nothing new since the last run" in resolved.ok("resolve")  # all applied


def _open_pairs(register: Register, source: str) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(record of ``source``, person of the other record) -> the other records, of the
    open pairs of the review list."""
    with register.store().engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source_l, record_id_l, person_l, source_r, record_id_r, person_r "
            "FROM review_pairs WHERE status = 'open' AND (source_l = :s OR source_r = :s)"),
            {"s": source}).all()
    found: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for sl, rl, pl, sr, rr, pr in rows:
        mine, theirs = ((rl, (sr, rr, pr)) if sl == source else (rr, (sl, rl, pl)))
        found[(mine, theirs[2])].add((theirs[0], theirs[1]))
    return found


def test_one_answer_answers_every_pair_between_the_two_persons(
        resolved: Register, tmp_path: Path) -> None:  # noqa: F811
    # A record with nothing but a man's names is paired with each of his records that
    # carry them. An answer on one pair left the others in the list, each asking the
    # officer the same question again and each holding the man.
    voters = [row for row in _voters(tmp_path) if row[3] and row[4]][:20]
    rows = [(f"n-{i}", *voter[1:4], "", voter[5]) for i, voter in enumerate(voters)]
    _resolve_a_new_source(resolved, tmp_path, "notes", {
        "family_name": "FAM", "given_name": "IM", "middle_name": "OTCH", "birth_date": "DR",
        "sex": "POL"}, voters, rows)
    by_size = sorted(_open_pairs(resolved, "notes").items(),
                     key=lambda item: (-len(item[1]), item[0]))
    (apart, apart_person), apart_others = by_size[0]
    (same, same_person), same_others = next(
        item for item in by_size if item[0][0] != apart and item[0][1] != apart_person)
    assert len(apart_others) >= 2 and len(same_others) >= 2
    first, *rest = sorted(apart_others)
    out = resolved.ok("review", "decide", f"notes:{apart}", ":".join(first), "--different",
                      *REASON)
    assert f"({len(apart_others)} review entries closed)" in out
    out = resolved.ok("review", "decide", f"notes:{same}", ":".join(min(same_others)),
                      "--same", *REASON)
    assert f"({len(same_others)} review entries closed)" in out
    for run in ((), ("resolve",), ("resolve", "--full")):
        if run:
            resolved.ok(*run)
        still = _open_pairs(resolved, "notes")
        assert (apart, apart_person) not in still and (same, same_person) not in still
    for other in rest:
        why = resolved.ok("person", "explain", f"notes:{apart}", ":".join(other))
        assert "different persons" in why
        assert ("would put together records that cannot be one person: an officer "
                "decided these records are different persons") in why, why
    for other in same_others:
        assert "the same person" in resolved.ok("person", "explain", f"notes:{same}",
                                                ":".join(other))


WIDEN_FIELDS = ["family_name", "given_name", "middle_name", "birth_date", "sex",
                "national_id", "tax_id", "region"]


def test_a_person_kept_apart_from_a_decided_one_is_decided_again_with_it(
        resolved: Register, tmp_path: Path) -> None:  # noqa: F811
    # Two records share a tax id (one man who changed his family name) and a third
    # carries the second one's name and birth date but another national id than the
    # first: clustering keeps the third apart from the pair. When an officer finds
    # the pair two men, the third is free to join the second, and the next run must
    # re-decide his person too, though no new evidence touches him (incremental.py
    # widens through refused links); a full run then agrees.
    national = [_national_id(seed) for seed in (41, 42)]
    tax_id = str(load_profile("default").identifiers["tax_id"].generate(
        np.random.default_rng(43), 1)[0])
    rows = [("a1", "Евлампиев", "Никифор", "Зосимович", "1983-09-17", "M", national[0],
             tax_id, "TVE"),
            ("a2", "Трифилиев", "Никифор", "Зосимович", "1983-09-17", "M", "", tax_id, "TVE"),
            ("b1", "Трифилиев", "Никифор", "Зосимович", "1983-09-17", "M", national[1], "",
             "TVE")]
    path = tmp_path / "widen.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", *WIDEN_FIELDS], *rows])
    declare(tmp_path / "widen.toml", widen={"agency": "Test office", "format": "csv",
                                            "record_id": "id",
                                            "fields": {f: f for f in WIDEN_FIELDS}})
    resolved.ok("sources", "add", tmp_path / "widen.toml")
    resolved.ok("ingest", "widen", path)
    resolved.ok("resolve")
    before = _links(resolved, tmp_path / "before.csv")
    person = {rid: before[("widen", rid)] for rid in ("a1", "a2", "b1")}
    assert person["a1"] == person["a2"] != person["b1"]

    resolved.ok("review", "decide", "widen:a1", "widen:a2", "--different", *REASON)
    assert "incremental" in resolved.ok("resolve")
    for run in ("incremental", "full"):
        if run == "full":
            resolved.ok("resolve", "--full")
        after = _links(resolved, tmp_path / f"after-{run}.csv")
        now = {rid: after[("widen", rid)] for rid in ("a1", "a2", "b1")}
        assert now["a2"] == now["b1"] != now["a1"], run


def test_the_review_list_asks_once_for_two_persons(resolved: Register,  # noqa: F811
                                                  tmp_path: Path) -> None:
    # The list showed each pair of records: a man's 7 pairs with a record bearing his
    # names were 7 entries, all one question, and the count was 4 times the work.
    voters = [row for row in _voters(tmp_path) if row[3] and row[4]][:20]
    rows = [(f"n-{i}", *voter[1:4], "", voter[5]) for i, voter in enumerate(voters)]
    ran, _, _ = _resolve_a_new_source(resolved, tmp_path, "notes", {
        "family_name": "FAM", "given_name": "IM", "middle_name": "OTCH", "birth_date": "DR",
        "sex": "POL"}, voters, rows)
    pairs = _open_pairs(resolved, "notes")
    (record, _person), others = max(pairs.items(), key=lambda item: (len(item[1]), item[0]))
    assert len(others) >= 2

    def lines(*options: str) -> list[list[str]]:
        out = resolved.ok("review", "list", "--limit", "1000", *options)
        return [[cell.strip() for cell in line.split("│")] for line in out.splitlines()
                if f"notes:{record} " in line]

    each = lines("--every-pair")
    assert len(each) == len(others) and {row[6] for row in each} == {"1"}
    (one,) = lines()
    assert one[6] == str(len(others))  # the pairs between the two persons
    assert f"notes:{record}" in one[3:5] and {":".join(o) for o in others} & set(one[3:5])

    add_account(resolved.store(), "admin", "a long enough password 1", "administrator")
    token = create_token(resolved.store(), "admin", "test")
    app = create_app(resolved.workspace(), "test-secret", database_url=resolved.database_url)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        def listed(**params: str) -> tuple[list[dict[str, Any]], int]:
            page = client.get("/api/v1/review", params={"limit": "500", **params}).json()
            mine = [p for p in page["pairs"] if f"notes:{record}" in (
                f"{p['source_l']}:{p['record_id_l']}", f"{p['source_r']}:{p['record_id_r']}")]
            return mine, page["total"]

        (entry,), total = listed()
        everything, every_total = listed(every_pair="true")
        assert entry["pairs_between"] == len(others) == len(everything)
        assert total <= every_total - (len(others) - 1)
    # The run says how many questions it left, and how many pairs of records they are.
    assert f"review list {total:,} entries, one per two persons ({every_total:,} pairs" in ran
    with resolved.store().engine.connect() as conn:
        assert every_total == conn.execute(sa.text(
            "SELECT count(*) FROM review_pairs WHERE status = 'open'")).scalar_one()


def test_a_decision_needs_a_verdict_a_reason_and_real_records(register: Register) -> None:
    # An empty list says so (it printed a table of headers alone).
    assert "The review list is empty" in register.ok("review", "list")
    out = register.run("review", "decide", "a:1", "b:2", *REASON)
    assert out.exit_code != 0 and "--same or --different" in (out.out + out.err)
    out = register.run("review", "decide", "a:1", "b:2", "--same")
    assert out.exit_code != 0 and "needs a reason" in (out.out + out.err)
    out = register.run("review", "decide", "a:1", "a:1", "--same", *REASON)
    assert out.exit_code != 0 and "itself" in (out.out + out.err)
    out = register.run("review", "decide", "voters:1", "passports:2", "--different", *REASON)
    assert out.exit_code != 0 and "No record passports:2" in (out.out + out.err)
    out = register.run("review", "decide", "voters", "passports:2", "--different", *REASON)
    assert out.exit_code != 0 and "SOURCE:RECORD_ID" in (out.out + out.err)
    # Who decides is kept as a username is: PostgreSQL refused a longer one with a
    # "value too long" DataError.
    register.monkeypatch.setenv("MUSTER_USER", "o" * 101)
    out = register.run("review", "decide", "voters:1", "passports:2", "--different", *REASON)
    assert out.exit_code != 0
    assert "MUSTER_USER is 101 characters long; a user's name is at most 100" in out.err

"""Officers answer the review list: "same person" links a pair, "different persons"
keeps it apart through any chain of links, and neither overrides the cannot-link
rules. Decisions hold in the next incremental run and in every full run after it."""

from __future__ import annotations

from pathlib import Path

from conftest import Register
from test_resolve import _links, resolved  # noqa: F401  (the fixture)

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


def test_a_decision_needs_a_verdict_a_reason_and_real_records(register: Register) -> None:
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

"""Looking persons up one at a time, as the service and `muster person find` do: by
name and birth date, by identifier, on both backends, through the lookup indexes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from muster.errors import BadRequest
from muster.profile import load_profile
from muster.resolve.queries import find_persons, person_view
from muster.store import Store
from muster.store.schema import golden_records, person_events
from service_data import ALSO_IN_REGION, IN_REGION, OUT_OF_REGION, build_register


@pytest.fixture
def people(store: Store) -> Store:
    build_register(store, load_profile("default"))
    with store.engine.begin() as conn:
        conn.execute(golden_records.update().where(
            golden_records.c.person_id == OUT_OF_REGION).values(national_id="11223344595"))
    return store


def test_search_by_name_and_birth_date(people: Store) -> None:
    profile = load_profile("default")
    rows = find_persons(people, "Иванов", "1999-03-10", None, profile)
    assert [r["person_id"] for r in rows] == [IN_REGION, OUT_OF_REGION, ALSO_IN_REGION]
    rows = find_persons(people, "иванов пётр", "1999-03-10", None, profile)
    assert [r["person_id"] for r in rows] == [OUT_OF_REGION]
    assert find_persons(people, "Иванов", "1999-03-11", None, profile) == []
    rows = find_persons(people, None, "1999-03-10", None, profile, regions=("TVE",))
    assert [r["person_id"] for r in rows] == [IN_REGION, ALSO_IN_REGION]


def test_search_by_identifier_ignores_formatting(people: Store) -> None:
    rows = find_persons(people, None, None, "112-233-445 95", load_profile("default"))
    assert [r["person_id"] for r in rows] == [OUT_OF_REGION]


def test_a_birth_date_that_is_no_date_is_a_bad_request(people: Store) -> None:
    with pytest.raises(BadRequest, match="'1999-02-30' is not a date"):
        find_persons(people, "Иванов", "1999-02-30", None, load_profile("default"))


def test_words_without_letters_are_not_searched_for(people: Store) -> None:
    # Such a word has no key: compared as NULL, "%" found every person without a
    # middle name, and an officer saw (and the audit logged) strangers.
    profile = load_profile("default")
    for name in ("%", "😀 --", "_"):
        with pytest.raises(BadRequest, match="has no letters to look for"):
            find_persons(people, name, None, None, profile)
    with pytest.raises(BadRequest, match="has no letters or digits"):
        find_persons(people, None, None, "--", profile)
    assert (find_persons(people, "Иванов %", "1999-03-10", None, profile)
            == find_persons(people, "Иванов", "1999-03-10", None, profile))


def test_history_names_the_merge_that_retired_a_person(people: Store) -> None:
    """A merged-away person's history is found through the event naming its old id,
    among the many events that name none."""
    with people.engine.begin() as conn:
        conn.execute(person_events.insert().values(
            run_id=2, at=datetime.now(UTC), kind="merged", person_id=IN_REGION,
            old_ids=f'["{ALSO_IN_REGION}", "{IN_REGION}"]', new_ids=f'["{IN_REGION}"]',
            detail="2 persons found to be one"))
    kinds = [h["kind"] for h in person_view(people, ALSO_IN_REGION).history]
    assert kinds == ["created", "merged"]
    assert [h["kind"] for h in person_view(people, OUT_OF_REGION).history] == ["created"]


def test_lookups_have_their_indexes(people: Store) -> None:
    """At a million persons each lookup without them reads a whole table (tens to
    hundreds of milliseconds, benchmarks/service.py)."""
    with people.engine.connect() as conn:
        inspector = sa.inspect(conn)
        golden = {i["name"] for i in inspector.get_indexes("golden_records")}
        events = {i["name"] for i in inspector.get_indexes("person_events")}
    assert {f"ix_golden_records_{c}" for c in ("family_key", "given_key", "middle_key",
            "birth_date", "national_id", "tax_id", "passport_no")} <= golden
    assert "ix_person_events_renames" in events

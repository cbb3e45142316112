"""The migrations build exactly the schema the code reads and writes (store/schema.py):
a table, column, type or index declared in one and not the other would surface only
on a register upgraded in the field, as an error or as a query without its index."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from conftest import Register, Snapshots
from helpers import resolved_300_persons, review_pair_persons
from muster.resolve.queries import person_view
from muster.store import Store
from muster.store.database import _alembic_config
from muster.store.schema import metadata


def test_a_register_migrated_to_the_head_has_the_declared_schema(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _columns(store: Store, table: str) -> set[str]:
    with store.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_an_upgraded_register_gives_its_open_review_pairs_their_persons(
        register: Register, tmp_path: Path, snapshots: Snapshots) -> None:
    """Migration 0011 fills in the persons and regions that the review queue is filtered
    and ordered on for the pairs of a register resolved before they were kept: an
    officer of a region would otherwise see none of its pairs."""
    resolved_300_persons(register, tmp_path, snapshots)
    store = register.store()
    written = review_pair_persons(store)
    config = _alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    assert "region_l" not in _columns(store, "review_pairs")
    # An upgrade failing half-way (here the filling in, with golden_records out of the
    # way) changes nothing: on SQLite too, its new columns are gone with it.
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE golden_records RENAME TO golden_records_away"))
    with pytest.raises(sa.exc.DatabaseError, match="golden_records"):
        store.upgrade()
    assert store.current_revision() == "0010"
    assert not {"person_l", "region_l"} & _columns(store, "review_pairs")
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE golden_records_away RENAME TO golden_records"))
    assert store.upgrade() == ("0010", store.head_revision())
    assert review_pair_persons(store) == written
    assert sum(r[0] is not None and r[2] is not None for r in written.values()) > 10


def test_an_upgraded_register_keeps_every_golden_value_and_its_source(
        register: Register, tmp_path: Path, snapshots: Snapshots) -> None:
    """Migration 0015 moves the sources of the agreed golden fields from golden_values
    to golden_provenance: every value a person's page shows, with its record, is the
    same before and after, and going back restores a row per value."""
    resolved_300_persons(register, tmp_path, snapshots)
    store = register.store()
    with store.engine.connect() as conn:
        person_ids = conn.execute(sa.text("SELECT person_id FROM golden_records")).scalars().all()

    def shown() -> dict[str, list[tuple[object, ...]]]:
        return {p: sorted(tuple(v.values()) for v in person_view(store, p).values)
                for p in person_ids}

    before = shown()
    chosen = sum(v[-2] for values in before.values() for v in values)
    assert len(person_ids) > 200 and chosen > 10 * len(person_ids)
    config = _alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0014")
    assert not sa.inspect(store.engine).has_table("golden_provenance")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM golden_values WHERE chosen = 1")).scalar_one() == chosen
    assert store.upgrade() == ("0014", store.head_revision())
    assert shown() == before


def test_an_upgraded_register_keeps_every_link_keyed_by_its_pair(
        register: Register, tmp_path: Path, snapshots: Snapshots) -> None:
    """Migration 0016 keys link_edges by its pair of records (on SQLite a table WITHOUT
    ROWID, its own index on the left record): every link and every person's page are
    the same after it, a pair an earlier version stored twice keeps its newest row,
    and the store refuses a pair written twice from then on."""
    resolved_300_persons(register, tmp_path, snapshots)
    store = register.store()
    select_links = sa.text("SELECT * FROM link_edges ORDER BY source_l, record_id_l, "
                           "source_r, record_id_r")
    with store.engine.connect() as conn:
        links = [dict(r) for r in conn.execute(select_links).mappings()]
        person_ids = conn.execute(sa.text(
            "SELECT person_id FROM golden_records ORDER BY person_id LIMIT 40")).scalars().all()
    assert len(links) > 500 and {link["outcome"] for link in links} >= {"linked", "refused"}
    pages = {p: person_view(store, p).links for p in person_ids}
    config = _alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0015")
    assert "ix_link_edges_l" in {i["name"] for i in sa.inspect(store.engine).get_indexes(
        "link_edges")}
    stale = {**links[0], "run_id": links[0]["run_id"] - 1, "outcome": "review"}
    insert_link = sa.text("INSERT INTO link_edges VALUES (:run_id, :source_l, :record_id_l, "
                          ":source_r, :record_id_r, :rule, :match_weight, :outcome, "
                          ":reason, :contributions)")
    with store.engine.begin() as conn:  # the same pair once more, from an older run
        conn.execute(insert_link, stale)

    assert store.upgrade() == ("0015", store.head_revision())
    with store.engine.connect() as conn:
        assert [dict(r) for r in conn.execute(select_links).mappings()] == links
        if store.dialect == "sqlite":
            ddl = conn.execute(sa.text("SELECT sql FROM sqlite_master "
                                       "WHERE name = 'link_edges'")).scalar_one()
            assert ddl.rstrip().endswith("WITHOUT ROWID")
    assert {p: person_view(store, p).links for p in person_ids} == pages
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(insert_link, stale)

"""Reading a resolved register: persons, links, review list, exports, explanations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from muster.errors import BadRequest, ConflictError, MusterError, NotFound
from muster.profile import Profile
from muster.resolve.config import ResolutionConfig, resolution_config
from muster.resolve.deterministic import (
    MAX_IDENTIFIER_GROUP,
    NEIGHBOUR_DAYS,
    Placeholder,
    placeholder_day_sql,
)
from muster.resolve.golden import GOLDEN_FIELDS
from muster.resolve.records import RECORD_COLUMNS, build_records, name_key_sql
from muster.resolve.rules import conflict_sql
from muster.resolve.saved_model import (
    COMPARISONS,
    MISSING,
    contributions_by_name,
    level_labels,
    prior_weight,
)
from muster.store import Reader, Store, reading
from muster.store.bulk import bulk_transaction
from muster.store.provenance import value_rows
from muster.store.schema import (
    CROSS_PERSON,
    golden_provenance,
    golden_records,
    golden_values,
    link_edges,
    person_events,
    person_records,
    persons,
    resolve_runs,
    source_records,
)
from muster.store.together import Query, Rows, fetch_together


def _require_resolved(conn: sa.Connection) -> dict[str, Any]:
    run = conn.execute(sa.select(resolve_runs).order_by(resolve_runs.c.id.desc())
                       .limit(1)).first()
    if run is None:
        raise ConflictError("The register has not been resolved yet.",
                            hint="Run `muster resolve` after ingesting extracts.")
    return dict(run._mapping)


def export_links(store: Store, out: Path) -> int:
    """``source,record_id,person_id`` for every accepted record (contract)."""
    with store.engine.connect() as conn:
        _require_resolved(conn)
    with bulk_transaction(store) as db:
        table = db.fetch_arrow(
            "SELECT s.source, s.record_id, p.person_id FROM source_records s "
            "LEFT JOIN person_records p ON p.source = s.source AND p.record_id = s.record_id "
            "ORDER BY s.source, s.record_id")
    missing = table.num_rows - table.column("person_id").drop_null().length()
    if missing:
        raise MusterError(f"{missing} records were ingested after the last resolution.",
                          hint="Run `muster resolve` first, then export again.")
    pacsv.write_csv(table, out)
    return int(table.num_rows)


def export_persons(store: Store, out: Path) -> int:
    """One row per person: ``person_id`` and every golden field under its canonical name."""
    columns = ", ".join(("person_id", *GOLDEN_FIELDS))
    with store.engine.connect() as conn:
        _require_resolved(conn)
    with bulk_transaction(store) as db:
        table = db.fetch_arrow(f"SELECT {columns} FROM golden_records ORDER BY person_id")
    pacsv.write_csv(table, out)
    return int(table.num_rows)


@dataclass
class PersonView:
    person_id: str
    status: str
    successor: str | None
    golden: dict[str, Any]
    values: list[dict[str, Any]]  # field, value, source, record_id, chosen, conflict
    records: list[dict[str, Any]]
    links: list[dict[str, Any]]
    history: list[dict[str, Any]]
    labels: dict[str, dict[int, str]] = field(default_factory=dict)


def _person_queries() -> dict[str, Query]:
    """The queries of ``person_view``, built once: a service runs them for every read,
    and a statement object reused skips SQLAlchemy's building and cache-key work."""
    pid = sa.bindparam("person_id", type_=sa.String)
    # The newest run's model (for the links' level labels) comes with the person.
    model = (sa.select(resolve_runs.c.model).order_by(resolve_runs.c.id.desc()).limit(1)
             .scalar_subquery())
    source = source_records.c
    p, e, h = person_records.c, link_edges.c, person_events.c

    def links_by(side_source: Any, side_record: Any, outcomes: Any) -> sa.Select[Any]:
        return sa.select(link_edges).join(person_records, sa.and_(
            p.source == side_source, p.record_id == side_record)).where(
            p.person_id == pid, outcomes)

    # An edge between two of the person's records is found from its left side only;
    # from the right side come the links across persons, which is what its (partial)
    # index holds, spelt as the index spells it.
    mine = person_records.alias("mine")
    left_is_mine = sa.exists().where(mine.c.person_id == pid, mine.c.source == e.source_l,
                                     mine.c.record_id == e.record_id_l)
    # outcome = ... OR ...: an IN list would be expanded anew on every execution
    shown = sa.or_(*(e.outcome == o for o in ("linked", "refused", "review")))
    links = sa.union_all(
        links_by(e.source_l, e.record_id_l, shown),
        links_by(e.source_r, e.record_id_r, sa.text(f"link_edges.{CROSS_PERSON}"))
        .where(~left_is_mine)).subquery("links")
    return {
        "person": Query(sa.select(persons.c.status, persons.c.successor,
                                  model.label("model"), *golden_records.c,
                                  golden_provenance.c.fields.label("provenance"))
                        .outerjoin(golden_records,
                                   golden_records.c.person_id == persons.c.person_id)
                        .outerjoin(golden_provenance,
                                   golden_provenance.c.person_id == persons.c.person_id)
                        .where(persons.c.person_id == pid)),
        "values": Query(sa.select(golden_values).where(golden_values.c.person_id == pid),
                        (golden_values.c.field, golden_values.c.chosen.desc())),
        "records": Query(sa.select(*(source[c] for c in (
            "source", "record_id", "line", "raw", *GOLDEN_FIELDS, "record_date")))
            .join(person_records, sa.and_(
                p.source == source.source, p.record_id == source.record_id))
            .where(p.person_id == pid)),  # sorted in Python: (source, record_id)
        "links": Query(links.select(), (links.c.match_weight.desc().nulls_first(),)),
        # A merged-away person's history is the merge event that names it among old
        # ids. Only merges and splits name old ids: the literal '[]' test lets the
        # database read just those (a partial index), not every person's 'created' event.
        "history": Query(sa.select(person_events).where(sa.or_(
            h.person_id == pid,
            sa.and_(h.old_ids != sa.literal_column("'[]'"),
                    h.old_ids.contains(sa.bindparam("quoted_id", type_=sa.String))),
        )), (h.id,)),
    }


PERSON_QUERIES = _person_queries()
_GOLDEN_COLUMNS = tuple(c.key for c in golden_records.c)


def person_params(person_id: str) -> dict[str, str]:
    """The parameters of ``PERSON_QUERIES`` (and of other queries about one person)."""
    return {"person_id": person_id, "quoted_id": f'"{person_id}"'}


def person_view(db: Reader, person_id: str) -> PersonView:
    """A person's record as resolution left it: one statement on PostgreSQL, five
    queries elsewhere, whatever its size."""
    with reading(db) as conn:
        return person_view_of(conn, person_id, fetch_together(
            conn, PERSON_QUERIES, person_params(person_id)))


def person_view_of(conn: sa.Connection, person_id: str, rows: dict[str, Rows]) -> PersonView:
    """The view from the rows of ``PERSON_QUERIES`` (read with others, perhaps)."""
    person = rows["person"][0] if rows["person"] else None
    if person is None or person["model"] is None:
        _require_resolved(conn)
        raise NotFound(f"No person {person_id}.",
                       hint="Find one with `muster person find --name ...`.")
    golden = {k: person[k] for k in _GOLDEN_COLUMNS} if person["person_id"] is not None else {}
    return PersonView(
        person_id=person_id, status=person["status"], successor=person["successor"],
        golden=golden,
        values=value_rows(person_id, golden, person["provenance"], rows["values"]),
        records=sorted(rows["records"], key=lambda r: (r["source"], r["record_id"])),
        links=[_link(r) for r in rows["links"]], history=rows["history"],
        labels=_labels(person["model"]),
    )


@lru_cache(maxsize=4)
def _labels(model: str) -> dict[str, dict[int, str]]:
    """The level labels of a stored model (read, not changed, by every caller): a
    register has one newest model, and parsing its 14 kB for every read of a person
    cost the service a tenth of a millisecond each time."""
    return level_labels(json.loads(model))


def _link(row: Any) -> dict[str, Any]:
    link = dict(row)
    link["contributions"] = contributions_by_name(link["contributions"])
    return link


def find_persons(db: Reader, name: str | None, birth_date: str | None,
                 identifier: str | None, profile: Profile, limit: int = 20,
                 regions: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Persons matching every criterion given; ``regions`` limits them to those regions."""
    g = golden_records.c
    query = sa.select(golden_records)
    if regions is not None:
        query = query.where(g.region.in_(regions))
    if not (name or birth_date or identifier):
        raise MusterError("Say what to look for.",
                          hint="Give --name, --birth-date or --id (any combination).")
    if name:
        # A word with no letters has no key: compared as NULL it matched every person
        # without that name (a search for "%" listed persons with no middle name).
        keys = [k for k in map(profile.names.key, name.split()) if k]
        if not keys:
            raise BadRequest(f"The name {name!r} has no letters to look for.",
                             hint="Give a family, given or middle name, in any script.")
        for key in keys:
            query = query.where(sa.or_(g.family_key == key, g.given_key == key,
                                       g.middle_key == key))
    if birth_date:
        query = query.where(g.birth_date == _iso_date(birth_date))
    if identifier:
        digits = "".join(ch for ch in identifier if ch.isalnum())
        if not digits:
            raise BadRequest(f"The identifier {identifier!r} has no letters or digits.",
                             hint="Give a national id, tax id or passport number.")
        query = query.where(sa.or_(g.national_id == digits, g.tax_id == digits,
                                   g.passport_no == digits))
    with reading(db) as conn:
        rows = conn.execute(query.order_by(g.person_id).limit(limit)).mappings().all()
        if not rows:  # persons found are resolved; none found may mean nothing is
            _require_resolved(conn)
    return [dict(r) for r in rows]


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"Birth date {text!r} is not a date.",
                         hint="Write it as YYYY-MM-DD, e.g. 1999-03-10.") from None


@dataclass
class PairExplanation:
    left: dict[str, Any]
    right: dict[str, Any]
    person_left: str | None
    person_right: str | None
    conflict: str | None
    identifiers: list[str]
    match_weight: float | None
    contributions: dict[str, tuple[str, float]]
    stored: dict[str, Any] | None
    # values of the pair's that resolution leaves out (deterministic.find_placeholders)
    placeholders: list[Placeholder] = field(default_factory=list)


def explain_pair(store: Store, profile: Profile, left: tuple[str, str],
                 right: tuple[str, str]) -> PairExplanation:
    """Why two records are (or are not) one person: rules, then Splink's waterfall."""
    from muster.resolve.model import MODEL_COLUMNS  # noqa: F401  (keeps import cost local)

    config = resolution_config(profile)
    with store.engine.connect() as conn:
        run = _require_resolved(conn)
        pids = dict(((r.source, r.record_id), r.person_id) for r in conn.execute(
            sa.select(person_records).where(sa.tuple_(
                person_records.c.source, person_records.c.record_id).in_([left, right]))))
        e = link_edges.c
        stored = conn.execute(sa.select(link_edges).where(sa.or_(
            sa.and_(e.source_l == left[0], e.record_id_l == left[1],
                    e.source_r == right[0], e.record_id_r == right[1]),
            sa.and_(e.source_l == right[0], e.record_id_l == right[1],
                    e.source_r == left[0], e.record_id_r == left[1])))).mappings().first()
    con = duckdb.connect()
    try:
        with bulk_transaction(store) as db:
            cols = ", ".join(RECORD_COLUMNS)
            pair = db.fetch_arrow(
                f"SELECT {cols} FROM source_records WHERE (source = ? AND record_id = ?) "
                "OR (source = ? AND record_id = ?)", (*left, *right))
            counts = _name_counts(db, pair)
            placeholders = _placeholders(db, pair, config)
        placeholders += _placeholder_dates(store, pair)  # on SQLite, one connection at a time
        found = {(r["source"], r["record_id"]): r for r in pair.to_pylist()}
        for key in (left, right):
            if key not in found:
                raise NotFound(f"No record {key[0]}:{key[1]}.",
                               hint="Records are named SOURCE:RECORD_ID, e.g. voters:000123.")
        con.register("pair_arrow", _without(pair, placeholders))
        # which given names are common is a property of the whole register
        total, given = counts["given_key"]
        con.register("given_counts", pa.table({
            "given_key": pa.array(list(given), pa.string()),
            "n": pa.array(list(given.values()), pa.int64()),
            "total": pa.array([total] * len(given), pa.int64())}))
        # typed and derived as resolution had them
        build_records(con, "pair_arrow", config, given_counts="given_counts")
        conflict = con.execute(
            f"SELECT {conflict_sql(config)} FROM records l, records r "
            "WHERE l.source = ? AND l.record_id = ? AND r.source = ? AND r.record_id = ?",
            (*left, *right)).fetchall()[0][0]
        tf = {key: {value: n / total for value, n in values.items()}
              for key, (total, values) in counts.items()}
        weight, contributions = _score_pair(con, json.loads(run["model"]), left, right, tf)
        _say_initials(con, contributions)
    finally:
        con.close()
    ignored = {(p.field, p.value) for p in placeholders if p.source is None}
    shared = [f for f in config.link_identifiers
              if found[left].get(f) and found[left].get(f) == found[right].get(f)
              and (f, found[left].get(f)) not in ignored]
    return PairExplanation(
        left=found[left], right=found[right], person_left=pids.get(left),
        person_right=pids.get(right), conflict=conflict, identifiers=shared,
        match_weight=weight, contributions=contributions,
        stored=_link(stored) if stored else None, placeholders=placeholders,
    )


def _say_initials(con: duckdb.DuckDBPyConnection,
                  contributions: dict[str, tuple[str, float]]) -> None:
    """A name the model saw as missing because a record writes it as an initial says
    so: "missing on one side" next to "Сидоров И. И." read as a defect of muster."""
    initials = con.execute("SELECT bool_or(given_initial IS NOT NULL), "
                           "bool_or(middle_initial IS NOT NULL) FROM records").fetchone() or ()
    for name, initial in zip(("given_name", "middle_name"), initials, strict=True):
        if initial and contributions[name][0] == MISSING:
            contributions[name] = ("an initial on one side: the rules compare it with the "
                                   "other name, the model does not weigh it",
                                   contributions[name][1])


def _placeholders(db: Any, pair: pa.Table, config: ResolutionConfig) -> list[Placeholder]:
    """The pair's identifier values that more than MAX_IDENTIFIER_GROUP records carry."""
    out = []
    for name in config.identifier_fields:
        for value in sorted(set(pair.column(name).drop_null().to_pylist())):
            n = int(db.scalar(f"SELECT count(*) FROM source_records WHERE {name} = ?",
                              (value,)) or 0)
            if n > MAX_IDENTIFIER_GROUP:
                out.append(Placeholder(name, value, n))
    return out


def _placeholder_dates(store: Store, pair: pa.Table) -> list[Placeholder]:
    """The pair's birth dates that their source gives as placeholders, counted as
    resolution counts them (deterministic.find_placeholders)."""
    out = []
    r = source_records.c
    with store.engine.connect() as conn:
        for source, text in sorted({(row["source"], str(row["birth_date"])) for row in
                                    pair.to_pylist() if row["birth_date"] is not None}):
            day = date.fromisoformat(text)
            near = timedelta(days=NEIGHBOUR_DAYS)
            counts = sa.select(sa.func.count().filter(r.birth_date == day).label("on_day"),
                               sa.func.count().label("around")).where(
                r.source == source, r.birth_date.between(day - near, day + near)).subquery()
            on_day, placeholder = conn.execute(sa.select(counts.c.on_day, sa.and_(
                counts.c.on_day > MAX_IDENTIFIER_GROUP,
                sa.text(placeholder_day_sql("on_day", "around"))))).one()
            if placeholder:
                out.append(Placeholder("birth_date", text, int(on_day), source))
    return out


def _without(pair: pa.Table, placeholders: list[Placeholder]) -> pa.Table:
    """The pair with its placeholders cleared: an identifier's wherever it is, a birth
    date only in its own source's record."""
    for p in placeholders:
        index = pair.schema.get_field_index(p.field)
        column = pair.column(index)
        hit = pc.equal(pc.cast(column, pa.string()), p.value)
        if p.source is not None:
            hit = pc.and_(hit, pc.equal(pair.column("source"), p.source))
        pair = pair.set_column(index, p.field, pc.if_else(
            hit, pa.scalar(None, column.type), column))
    return pair


def _name_counts(db: Any, pair: pa.Table) -> dict[str, tuple[int, dict[str, int]]]:
    """Per name key: how many records have one, and how many carry each of the pair's
    values. Their ratio is Splink's tf value as resolution computed it; the given
    name counts also say which names are common (rules.common_given_names)."""
    out: dict[str, tuple[int, dict[str, int]]] = {}
    for key in ("family_key", "given_key", "middle_key"):
        # as resolution compares them: an initial is no name (records.name_key_sql)
        compared = name_key_sql(key.removesuffix("_key"))
        total = int(db.scalar(f"SELECT count({compared}) FROM source_records") or 1)
        out[key] = (total, {
            value: int(db.scalar(f"SELECT count(*) FROM source_records WHERE {key} = ?",
                                 (value,)) or 1)
            for value in set(pair.column(key).drop_null().to_pylist())})
    return out


def _score_pair(con: duckdb.DuckDBPyConnection, trained: dict[str, Any],
                left: tuple[str, str], right: tuple[str, str],
                tf: dict[str, dict[str, float]]) -> tuple[float, dict[str, tuple[str, float]]]:
    from splink import DuckDBAPI

    from muster.resolve import model

    con.execute(f"CREATE TABLE model_input AS SELECT {', '.join(model.MODEL_COLUMNS)} "
                "FROM records")
    api = DuckDBAPI(connection=con)
    linker = model.linker(api.register("model_input"), trained)
    # Each record goes to Splink as a typed one-row table: from a dict, a value that
    # is missing (a birth date) would reach Splink's SQL as an untyped NULL, which
    # its date functions refuse.
    rows = {(r["source"], r["record_id"]): r for r in
            con.sql("SELECT * FROM model_input").to_arrow_table().to_pylist()}
    columns = ", ".join(f"CAST(? AS DOUBLE) AS tf_{column}" for column in tf)
    sides = []
    for side, key in (("pair_left", left), ("pair_right", right)):
        frequencies = [freqs.get(rows[key][column]) for column, freqs in tf.items()]
        con.execute(f"CREATE TABLE {side} AS SELECT *, {columns} FROM model_input "
                    "WHERE source = ? AND record_id = ?", (*frequencies, *key))
        sides.append(api.register(side))
    scored = linker.inference.score_pair(sides[0], sides[1]).as_record_list()[0]
    labels = level_labels(trained)
    contributions = {}
    for name in COMPARISONS:
        gamma = int(scored.get(f"gamma_{name}", -1))
        weight = float(scored.get(f"mw_{name}", 0) or 0)
        weight += float(scored.get(f"mw_tf_adj_{name}", 0) or 0)
        contributions[name] = (labels.get(name, {}).get(gamma, str(gamma)), round(weight, 2))
    return float(scored["match_weight"]) - prior_weight(trained), contributions

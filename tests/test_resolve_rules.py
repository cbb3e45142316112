"""The cannot-link rules on records as resolution derives them (no store needed)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from splink.internals.dialects import DuckDBDialect

from muster.resolve import model
from muster.resolve.config import ResolutionConfig
from muster.resolve.records import (
    RECORD_COLUMNS,
    build_records,
    typed_columns,
    union_of_parts,
)
from muster.resolve.rules import conflict_sql, names_alone

# Given name keys and how many records carry each: two common names, one typo.
NAMES = {"alina": 30, "alisa": 25, "alima": 1, "maria": 40, "mariia": 19}


def _build(con: duckdb.DuckDBPyConnection, config: ResolutionConfig, record_ids: list[str],
           **values: list[Any]) -> None:
    """Table ``records``: records of one source with these ids and column values (every
    other column missing), typed and derived as resolution has them."""
    n = len(record_ids)
    columns = {c: pa.nulls(n, pa.string()) for c in RECORD_COLUMNS}
    columns |= {"source": pa.array(["s"] * n), "record_id": pa.array(record_ids)}
    columns |= {c: pa.array(v) for c, v in values.items()}
    con.register("relation", pa.table(columns))
    build_records(con, "relation", config)


def _records(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
             addresses: tuple[str, str] = ("", "")) -> None:
    rows = [(f"{key}-{i}", key) for key, n in NAMES.items() for i in range(n)]
    _build(con, config, [r for r, _ in rows], given_key=[k for _, k in rows],
           family_key=["ivanova"] * len(rows),
           address=[addresses[i % 2] or None for i in range(len(rows))])


def _conflict(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
              left: str, right: str) -> str | None:
    return con.execute(f"SELECT {conflict_sql(config)} FROM records l, records r "
                       "WHERE l.record_id = ? AND r.record_id = ?",
                       (left, right)).fetchall()[0][0]


@pytest.mark.parametrize(("left", "right", "reason"), [
    ("alina-0", "alisa-0", "different given names"),  # both names common: two names
    ("alina-0", "alima-0", None),  # a rare spelling one letter off: a typo
    ("maria-0", "mariia-0", None),  # 19 records: not yet common
    ("alina-0", "alina-1", None),
])
def test_two_common_given_names_are_two_people(left: str, right: str,
                                               reason: str | None) -> None:
    con = duckdb.connect()
    config = ResolutionConfig(common_name_records=20)
    _records(con, config)
    assert _conflict(con, config, left, right) == reason


def test_the_common_name_rule_can_be_turned_off() -> None:
    con = duckdb.connect()
    config = dataclasses.replace(ResolutionConfig(), common_name_share=0)
    _records(con, config)
    assert _conflict(con, config, "alina-0", "alisa-0") is None


@pytest.mark.parametrize(("share", "reason"), [(0.2, "different given names"), (0.3, None)])
def test_a_name_is_common_by_its_share_of_the_register(share: float,
                                                        reason: str | None) -> None:
    # 115 records: alina (30) and alisa (25) are 20% of them each, not 30%
    con = duckdb.connect()
    config = ResolutionConfig(common_name_records=1, common_name_share=share)
    _records(con, config)
    assert _conflict(con, config, "alina-0", "alisa-0") == reason


# Full names (family, given) against "ivanov vitali", and why they cannot be him.
SWAPS = {
    "ivanov vitali": None,
    "vitali ivanov": None,  # family and given names swapped
    "ivanhv vitali": None,  # family name mistyped
    "vitali ivanhv": None,  # swapped, and mistyped
    "ivanov sergei": "different given names",  # a twin
    "sergei ivanov": "different given names",  # a twin, swapped
    "- sergei": "different given names",  # a twin without a family name
}


def test_swapped_names_are_one_person_even_with_a_typo() -> None:
    con = duckdb.connect()
    config = ResolutionConfig()
    names = [n.split() for n in SWAPS]
    _build(con, config, list(SWAPS), family_key=[None if f == "-" else f for f, _ in names],
           given_key=[g for _, g in names])
    for name, reason in SWAPS.items():
        assert _conflict(con, config, "ivanov vitali", name) == reason, name
    # a swapped record and a mistyped one are still the same person
    assert _conflict(con, config, "vitali ivanov", "ivanhv vitali") is None


# Middle names (as written, and their keys as ingest makes them) against a man's
# patronymic, and why they cannot be his.
INITIALS = {
    ("Иванович", "ivanovich"): None,
    ("И.", "i"): None,  # an initial: his
    ("и", "i"): None,  # without its dot
    ("I.", "i"): None,  # in Latin letters
    ("П.", "p"): "different middle names",
    ("Я.", "ia"): "different middle names",
    (None, None): None,  # missing
}


def test_a_name_written_as_an_initial_is_the_name_it_begins() -> None:
    # "Иванов И. И." from an agency that writes initials was "different middle names"
    # from the man's patronymic: a file of its own, its fitness board's "unfit" missed.
    con = duckdb.connect()
    config = ResolutionConfig()
    names = [*INITIALS, ("Яковлевич", "iakovlevich")]
    ids = [str(name) for name, _ in names]
    _build(con, config, ids, family_key=["ivanov"] * len(ids), given_key=["ivan"] * len(ids),
           given_name=["Иван"] * len(ids), middle_name=[n for n, _ in names],
           middle_key=[k for _, k in names])
    for (name, _), reason in INITIALS.items():
        assert _conflict(con, config, "Иванович", str(name)) == reason, name
        assert _conflict(con, config, str(name), "Иванович") == reason, name
    # one script: its letters decide, though the key of Я ("ia") begins with И's ("i")
    assert _conflict(con, config, "И.", "Яковлевич") == "different middle names"
    assert _conflict(con, config, "I.", "Я.") is None  # across scripts: the keys
    assert _conflict(con, config, "И.", "и") is None
    # the model sees an initial as a name missing; the rules keep its key apart
    assert con.execute("SELECT middle_key, middle_initial FROM records "
                       "WHERE record_id = 'И.'").fetchall() == [(None, "i")]


@pytest.mark.parametrize(("given", "key", "reason"), [
    ("И.", "i", None), ("С.", "s", "different given names"), ("Ivan", "ivan", None)])
def test_a_given_name_written_as_an_initial_is_the_name_it_begins(
        given: str, key: str, reason: str | None) -> None:
    con = duckdb.connect()
    config = ResolutionConfig()
    _build(con, config, ["man", "initial"], family_key=["ivanov"] * 2, given_name=["Иван", given],
           given_key=["ivan", key])
    assert _conflict(con, config, "man", "initial") == reason


# Birth year, region, address of records of one full name born on 14 March, against
# (1990, r1, "a 1"): whether nothing but the names agrees.
ALONE = {
    (1990, "r1", "a 1"): False,
    (1991, "r1", None): False,  # a year mistyped, in his region
    (1991, None, "a 1"): False,  # a year mistyped, at his address
    (1991, None, None): True,  # a year mistyped, nothing else to go on
    (1991, "r2", "a 2"): True,
    (None, None, None): True,  # undated, nothing else to go on
    (None, "r1", None): False,
    (1990, None, None): False,  # the whole date agrees
}


def test_a_pair_with_nothing_but_the_names_is_never_a_link_by_weight() -> None:
    con = duckdb.connect()
    ids = [str(k) for k in ALONE]
    _build(con, ResolutionConfig(), ids,
           birth_date=[datetime.date(y, 3, 14) if y else None for y, _, _ in ALONE],
           region=[r for _, r, _ in ALONE], address=[a for _, _, a in ALONE])
    for key, alone in ALONE.items():
        (got,), = con.execute(f"SELECT {names_alone()} FROM records l, records r "
                              "WHERE l.record_id = ? AND r.record_id = ?",
                              (ids[0], str(key))).fetchall()
        assert got == alone, key


# Birth dates of one full name (same middle name and region), and whether a typo or
# a day/month swap could explain each against the first.
DATES = {
    "1990-03-14": True,
    "1990-03-15": True,  # day mistyped
    "1990-08-14": True,  # month mistyped
    "1991-03-14": True,  # year mistyped
    "1909-03-14": True,  # the year's last two digits swapped
    "1990-11-03": False,  # no typo of the first, though a swap of the next
    "1990-03-11": True,  # the first with its day mistyped
    None: True,  # missing
    "1990-07-22": False,  # a namesake born the same year
    "1985-07-22": False,
}


def _candidate_pairs(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """The pairs the model's blocking rules put to Splink."""
    pairs: set[tuple[str, str]] = set()
    for rule in model.blocking_rules():
        sql = rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql
        pairs |= set(con.execute(f"SELECT l.record_id, r.record_id FROM records l "
                                 f"JOIN records r ON l.rid < r.rid AND ({sql})").fetchall())
    return pairs


def test_splink_is_not_given_pairs_whose_birth_dates_rule_each_other_out() -> None:
    con = duckdb.connect()
    config = ResolutionConfig()
    n = len(DATES)
    _build(con, config, [str(d) for d in DATES], birth_date=list(DATES),
           family_key=["ivanov"] * n, given_key=["ivan"] * n,
           middle_key=["petrovich"] * n, region=["r1"] * n)
    candidates = _candidate_pairs(con)
    first = "1990-03-14"
    paired = {d for d in map(str, DATES) if (first, d) in candidates or (d, first) in candidates}
    assert paired == {str(d) for d, typo in DATES.items() if typo and d != first}
    assert ("1990-03-11", "1990-11-03") in candidates or (
        "1990-11-03", "1990-03-11") in candidates
    # Nothing the rules would let link is left out: every pair not put to Splink is
    # one the rules refuse for its birth dates.
    everything = set(con.execute("SELECT l.record_id, r.record_id FROM records l "
                                 "JOIN records r ON l.rid < r.rid").fetchall())
    for left, right in everything - candidates:
        assert _conflict(con, config, left, right) == "incompatible birth dates"


# Birth dates against 1990-01-12: whether one slip of the hand explains each, and
# whether that slip is the model's level for one (not an exact date or a day/month swap).
SLIPS = {
    "1990-01-21": (True, True),  # the day's digits swapped
    "1990-10-12": (True, True),  # the month's
    "1909-01-12": (True, True),  # the year's last two
    "1990-01-13": (True, True),  # a digit mistyped
    "1990-12-01": (True, False),  # day and month swapped
    "1990-01-25": (False, False),
    "1990-02-21": (False, False),  # the day's digits swapped and the month mistyped
    "1980-01-21": (False, False),  # a digit of the year mistyped and the day swapped
}


def test_two_neighbouring_digits_swapped_in_a_birth_date_are_one_slip() -> None:
    # A death record whose day reads 21 for 12 was "incompatible birth dates": a file
    # of its own that nothing linked, and the dead man stayed eligible.
    con = duckdb.connect()
    config = ResolutionConfig()
    dates = ["1990-01-12", *SLIPS]
    _build(con, config, dates, birth_date=dates, family_key=["ivanov"] * len(dates),
           given_key=["ivan"] * len(dates))
    level = model.OneSlipDateLevel().create_sql(DuckDBDialect())
    for date, (one_slip, at_the_level) in SLIPS.items():
        assert (_conflict(con, config, "1990-01-12", date) is None) == one_slip, date
        (got,), = con.execute(
            f"SELECT {level} FROM (SELECT l.birth_date AS birth_date_l, "
            "r.birth_date AS birth_date_r, l.birth_text AS birth_text_l, "
            "r.birth_text AS birth_text_r FROM records l, records r "
            "WHERE l.record_id = '1990-01-12' AND r.record_id = ?)", (date,)).fetchall()
        assert got == at_the_level, date


def test_address_key_ignores_yo_case_and_punctuation() -> None:
    con = duckdb.connect()
    _records(con, ResolutionConfig(),
             ("г. Тверь, ул. Озёрная, д. 3, кв. 2", "Г ТВЕРЬ УЛ ОЗЕРНАЯ Д 3 КВ 2"))
    keys = {k for (k,) in con.execute("SELECT DISTINCT address_key FROM records").fetchall()}
    assert keys == {"тверь озерная 3 2"}


def test_records_read_in_parts_come_together_typed_whatever_each_part_held() -> None:
    # SQLite's driver types a column NULL throughout a part as integer; the other part
    # has dates as text. Together they are one DATE column, values intact.
    con = duckdb.connect()
    dated = pa.table({"record_id": ["a"], "birth_date": ["2001-02-03"], "batch_id": [7]})
    undated = pa.table({"record_id": ["b"], "birth_date": pa.nulls(1, pa.int64()),
                        "batch_id": [8]})
    with union_of_parts(con, "together", [dated, undated],
                        typed_columns(["record_id", "birth_date", "batch_id"])):
        rows = con.execute("SELECT * FROM together ORDER BY record_id").fetchall()
        types = [t for _, t, *_ in con.execute("DESCRIBE together").fetchall()]
    assert rows == [("a", datetime.date(2001, 2, 3), 7), ("b", None, 8)]
    assert types == ["VARCHAR", "DATE", "INTEGER"]
    assert not con.execute("SELECT * FROM duckdb_views() WHERE view_name = 'together'").fetchall()


@pytest.mark.parametrize(("middle", "birth"), [
    ((None, None), ("1990-05-17", "1990-05-17")),  # no middle names, family name mistyped
    (("paul", None), ("1990-05-17", "1990-05-17")),  # one middle name missing
    ((None, None), ("1990-05-17", None)),  # ... and a birth date missing
])
def test_records_without_middle_names_are_still_compared(middle: tuple[str | None, ...],
                                                         birth: tuple[str | None, ...]) -> None:
    """Where many people have no middle name (latinia), rules that asked for equal
    middle names left a mistyped family name, or a missing birth date, never compared."""
    con = duckdb.connect()
    family = ["marino", "marimo"] if birth[1] else ["marino", "marino"]
    _build(con, ResolutionConfig(), ["a", "b"], family_key=family, given_key=["luca"] * 2,
           middle_key=list(middle), region=["C", "C"],
           birth_date=[datetime.date.fromisoformat(b) if b else None for b in birth])
    assert {("a", "b"), ("b", "a")} & _candidate_pairs(con)


def _placeholder_dates(births: dict[str, list[datetime.date]]) -> set[tuple[str, str]]:
    """(source, birth date) that find_placeholders takes for placeholders, of records
    with these birth dates per source."""
    from muster.resolve.deterministic import find_placeholders

    con = duckdb.connect()
    rows = [(source, day) for source, days in births.items() for day in days]
    con.register("relation", pa.table({
        "source": pa.array([s for s, _ in rows]), "birth_date": pa.array([d for _, d in rows]),
        **{f: pa.nulls(len(rows), pa.string()) for f in ("national_id", "tax_id",
                                                           "passport_no")}}))
    con.execute("CREATE TABLE records AS SELECT * FROM relation")
    find_placeholders(con, ResolutionConfig())
    return {(s, v) for s, v in con.execute(
        "SELECT source, value FROM placeholders WHERE field = 'birth_date'").fetchall()}


def test_a_birth_date_a_source_gives_to_everyone_it_lacks_one_for_is_a_placeholder() -> None:
    day = datetime.date.fromisoformat
    year = [day("1990-01-01") + datetime.timedelta(days=i) for i in range(365)]
    # An agency's stand-in for "unknown", alone in its year or above a year of real days.
    assert _placeholder_dates({"clinic": [day("1900-01-01")] * 21}) == {
        ("clinic", "1900-01-01")}
    assert _placeholder_dates({"tax": [*year * 3, *[day("1990-01-01")] * 40]}) == {
        ("tax", "1990-01-01")}
    # 20 records are too few to tell; another source's records on that day are its own.
    assert _placeholder_dates({"clinic": [day("1900-01-01")] * 20}) == set()
    assert _placeholder_dates({"clinic": [day("1900-01-01")] * 21,
                               "voters": [day("1900-01-01")] * 2 + year}) == {
        ("clinic", "1900-01-01")}


def test_a_cohort_or_a_busy_day_is_no_placeholder() -> None:
    # Men born in one December, 30 a day: its first and last days have half of their
    # neighbours, and a year's average day (a twelfth of the year) would have taken
    # every one of them for a placeholder.
    december = [datetime.date(2006, 12, 1) + datetime.timedelta(days=i) for i in range(31)]
    assert _placeholder_dates({"cohort": december * 30}) == set()
    # A day with five times its neighbours' births is real.
    busy = [*december * 30, *[datetime.date(2006, 12, 15)] * 120]
    assert _placeholder_dates({"cohort": busy}) == set()


def test_resolution_settings_of_the_wrong_kind_are_each_named() -> None:
    # train_records = -5 failed the run with "ZeroDivisionError: float division by
    # zero"; u_sample_pairs = 0 and a similarity of 2 were taken as they were.
    from muster.errors import ConfigError
    from muster.profile import load_profile
    from muster.resolve.config import resolution_config

    default = load_profile("default")
    bad = {"train_records": -5, "u_sample_pairs": 0, "name_similarity": 2.0,
           "common_name_records": 1.5, "ambiguity_margin": -3.0, "link_weight": "high",
           "review_weight": True, "common_name_share": float("nan")}
    data = dict(default.data, resolution=dict(default.data["resolution"], **bad))
    with pytest.raises(ConfigError) as error:
        resolution_config(dataclasses.replace(default, data=data))
    assert sorted(p.split(" ")[0] for p in error.value.problems) == sorted(
        f"resolution.{key}" for key in bad)
    assert "resolution.train_records must be a whole number of at least 1, not -5" in \
        error.value.problems
    assert "resolution.name_similarity must be a number from 0 to 1, not 2.0" in \
        error.value.problems
    good = dict(default.data["resolution"], train_records=500_000, u_sample_pairs=1e6,
                link_weight=30)
    config = resolution_config(dataclasses.replace(
        default, data=dict(default.data, resolution=good)))
    assert (config.train_records, config.u_sample_pairs, config.link_weight) == (
        500_000, 1e6, 30)

"""The Splink model: comparisons suited to register data, and how it is trained.

Names are compared on their transliteration-insensitive keys (computed at ingest),
with term-frequency adjustments so that a shared common name counts for less than
a rare one. Birth dates have a level for a day/month swap and one for a single
slip: a character typed wrong, or two neighbouring digits swapped. The same settings
serve every engine.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect
from splink.internals.exceptions import EMTrainingException

from muster.errors import MusterError
from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import day_month_swapped, digits_transposed
from muster.resolve.saved_model import COMPARISONS

MODEL_COLUMNS = ("rid", "source", "record_id", "family_key", "given_key", "middle_key",
                 "birth_date", "birth_text", "sex", "region", "address", "address_key",
                 "address_tokens", "national_id", "tax_id")


# Family and given names written in each other's place. Both name comparisons have
# this level; Splink keeps its condition as written (probabilistic.py looks for it).
SWAPPED_NAMES = ("family_key", "given_key")
SWAP_CONDITION = "family_key_l = given_key_r AND given_key_l = family_key_r"


def _swap_level() -> cll.CustomLevel:
    return cll.CustomLevel(SWAP_CONDITION, "family and given names swapped")


class OneEditLevel(ComparisonLevelCreator):
    """Damerau-Levenshtein distance at most 1, computed cheaply.

    The same pairs as ``damerau_levenshtein(l, r) <= 1``: one insertion, deletion or
    substitution is a Levenshtein distance of at most 1; one swap of adjacent letters
    keeps the length and is a Levenshtein distance of 2. DuckDB's Damerau-Levenshtein
    is ten times slower than its Levenshtein, and this level is reached by almost
    every random pair when u is estimated (millions of them), so it runs only on the
    few pairs that the cheap conditions before it cannot settle.
    """

    def __init__(self, column: str) -> None:
        self.column = column

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        left, right = f"{self.column}_l", f"{self.column}_r"
        lev = f"{sql_dialect.levenshtein_function_name}({left}, {right})"
        damerau = f"{sql_dialect.damerau_levenshtein_function_name}({left}, {right})"
        return (f"(abs(length({left}) - length({right})) <= 1 AND {lev} <= 1) OR "
                f"(length({left}) = length({right}) AND {lev} = 2 AND {damerau} <= 1)")

    def create_label_for_charts(self) -> str:
        return f"Damerau-Levenshtein distance of {self.column} <= 1"


def _in_splink_columns(sql: str) -> str:
    """A rule of rules.py (``l.birth_date``) in Splink's names (``birth_date_l``)."""
    return sql.replace("l.birth_date", "birth_date_l").replace("r.birth_date", "birth_date_r")


class OneSlipDateLevel(ComparisonLevelCreator):
    """Birth dates one slip apart, computed cheaply: one character typed wrong (as text,
    ``levenshtein(birth_text_l, birth_text_r) <= 1``) or two neighbouring digits
    swapped (``rules.digits_transposed``). Either changes the year, the month or the
    day, so two of the three agree; comparing those numbers first spares the string
    distance for almost every pair.
    """

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        agree = " + ".join(f"(CASE WHEN {part}(birth_date_l) = {part}(birth_date_r) "
                           f"THEN 1 ELSE 0 END)" for part in ("year", "month", "day"))
        lev = sql_dialect.levenshtein_function_name
        return (f"({agree}) >= 2 AND ({lev}(birth_text_l, birth_text_r) <= 1 "
                f"OR {_in_splink_columns(digits_transposed())})")

    def create_label_for_charts(self) -> str:
        return "one digit mistyped, or two swapped"


def comparisons() -> list[Any]:
    """The comparisons, in the order of ``COMPARISONS``."""
    swapped_dates = _in_splink_columns(day_month_swapped("l", "r"))
    family = cl.CustomComparison([
        cll.NullLevel("family_key"),
        cll.ExactMatchLevel("family_key", term_frequency_adjustments=True),
        _swap_level(),
        cll.JaroWinklerLevel("family_key", 0.95),
        OneEditLevel("family_key"),
        cll.JaroWinklerLevel("family_key", 0.88),
        cll.ElseLevel(),
    ], output_column_name="family_name")
    given = cl.CustomComparison([
        cll.NullLevel("given_key"),
        cll.ExactMatchLevel("given_key", term_frequency_adjustments=True),
        _swap_level(),
        cll.JaroWinklerLevel("given_key", 0.95),
        OneEditLevel("given_key"),
        cll.ElseLevel(),
    ], output_column_name="given_name")
    middle = cl.CustomComparison([
        cll.NullLevel("middle_key"),
        cll.ExactMatchLevel("middle_key", term_frequency_adjustments=True),
        cll.JaroWinklerLevel("middle_key", 0.95),
        OneEditLevel("middle_key"),
        cll.ElseLevel(),
    ], output_column_name="middle_name")
    birth = cl.CustomComparison([
        cll.NullLevel("birth_text"),
        cll.ExactMatchLevel("birth_text"),
        cll.CustomLevel(swapped_dates, "day and month swapped"),
        OneSlipDateLevel(),
        cll.ElseLevel(),
    ], output_column_name="birth_date")
    address = cl.CustomComparison([
        cll.NullLevel("address_key"),
        cll.ExactMatchLevel("address_key"),
        cll.ArrayIntersectLevel("address_tokens", 3),
        cll.ElseLevel(),
    ], output_column_name="address")
    return [family, given, middle, birth, cl.ExactMatch("sex"), cl.ExactMatch("region"),
            address]


def linker(data: Any, model_settings: SettingsCreator | dict[str, Any]) -> Linker:
    """A Splink linker of ``data`` with muster's settings or a model trained on them.

    Splink's check of the settings only logs the columns they name that ``data``
    lacks: these are muster's own settings, on the columns muster builds, and the
    check parsed every level's SQL again, 0.08-0.15 s a linker (a full run makes
    three)."""
    return Linker(data, model_settings, log_level=None, validate_settings=False)


def settings(config: ResolutionConfig) -> SettingsCreator:
    """The model's settings."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rid",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # the gamma (level) columns come with them
    )


def _same(left_part: str, right_part: str) -> str:
    return f"{left_part}(l.birth_date) = {right_part}(r.birth_date)"


def blocking_rules() -> list[Any]:
    """Candidate pairs: each rule tolerates a different kind of error in the others.

    Where a rule lets birth dates differ, it keeps only the dates a typo or a swap
    could explain: within a year, the month or the day in place, or the two swapped;
    across years, both in place. rules.conflict_sql refuses any other pair whatever
    its weight, and at a million persons namesakes born in the same year were half
    of the 27 million pairs Splink scored. (These tests on date parts are cheaper
    than the exact one, which the comparison and the rules still make.)
    """
    month, day = _same("month", "month"), _same("day", "day")
    same_year = _same("year", "year")
    month_or_day = f"({month} OR {day} OR ({_same('month', 'day')} AND {_same('day', 'month')}))"
    year_typo = f"(l.birth_date IS NULL OR r.birth_date IS NULL OR ({month} AND {day}))"
    full_name = ("l.family_key = r.family_key AND l.given_key = r.given_key "
                 "AND l.middle_key = r.middle_key")
    return [
        block_on("family_key", "birth_text"),  # typo in a given or middle name
        block_on("given_key", "middle_key", "birth_text"),  # typo or change in family name
        # swapped or mistyped day or month
        f"l.family_key = r.family_key AND l.given_key = r.given_key AND {same_year} "
        f"AND {month_or_day}",
        # birth date missing, or its year mistyped
        "l.family_key = r.family_key AND l.given_key = r.given_key "
        f"AND l.middle_key = r.middle_key AND l.region = r.region AND {year_typo}",
        # The rules above that ask for equal middle names, with one missing: where half the
        # people have none (latinia), a typo in the family name or a missing birth date
        # otherwise left a record unpaired. One side each, so that DuckDB joins only the
        # records without a middle name: one rule "equal or either missing" joined every
        # two records sharing a given name and birth date, and a full run at a million
        # persons took 260 s instead of 202 s.
        *(rule for side in ("l", "r") for rule in (
            f"{side}.middle_key IS NULL AND l.given_key = r.given_key "
            "AND l.birth_text = r.birth_text",
            f"{side}.middle_key IS NULL AND l.family_key = r.family_key "
            f"AND l.given_key = r.given_key AND l.region = r.region AND {year_typo}")),
        # A record without a region (the civil registry's death records are of a
        # place, not of where the man lives) with its birth year mistyped, or its birth
        # date missing or unreadable: the full name, none of it missing, and the day
        # and month of birth where the record has a date. One side each, as above; two
        # rules, so that the first joins on the day and month.
        *(rule for side in ("l", "r") for rule in (
            f"{side}.region IS NULL AND {full_name} AND {month} AND {day}",
            f"{side}.region IS NULL AND {side}.birth_date IS NULL AND {full_name}")),
        # family and given names swapped
        f"l.family_key = r.given_key AND l.given_key = r.family_key AND {same_year} "
        f"AND {month_or_day}",
    ]


# Pairs an EM session samples at most (Splink keeps a share of the records such that
# its blocking pairs about this many). The three sessions paired 0.97, 0.94 and 1.13
# million records at 100,000 persons, and 0.70, 0.59 and 1.64 million in the
# 1,000,000-record sample a register of a million persons trains on. Capped, EM took
# 1.8 s instead of 2.5 s at 100,000 persons, 68 of 961,474 scored pairs moved, and
# the benchmark's precision, recall and merged traps stayed as they were at both sizes.
EM_PAIRS = 5e5
# The same for a fallback session: the broader blockings tried when a register has no
# middle names (a birth date alone, family and given name alone) would pair tens of
# millions of its records.
EM_FALLBACK_PAIRS = 5e6


# The seed of the sample u is estimated on (probabilistic.estimate_u_from_value_pairs
# draws Splink's sample).
U_SEED = 1

# Trains u on a linker and returns the linker training goes on with (``estimate_u``).
UEstimator = Callable[[Any, ResolutionConfig], Any]


def train(linker: Any, config: ResolutionConfig,
          estimate_u: UEstimator | None = None) -> dict[str, Any]:
    """Unsupervised: prior from identifiers, u by sampling, m by EM on three blockings.
    Returns the trained model, each level capped at agreement (``capped_at_agreement``).

    ``estimate_u`` replaces Splink's estimate of u (``estimate_u_in_series``): the DuckDB
    engine counts the same pairs by their values (probabilistic.estimate_u_from_value_pairs).
    """
    # Splink logs a warning per level EM cannot see (e.g. no pair of different sex
    # within a blocking): expected here, and the level keeps its u-based default.
    splink_log = logging.getLogger("splink")
    level = splink_log.level
    splink_log.setLevel(logging.ERROR)
    try:
        _estimate_prior(linker)
        linker = (estimate_u or estimate_u_in_series)(linker, config)
        _train_m(linker)
    finally:
        splink_log.setLevel(level)
    trained: dict[str, Any] = linker.misc.save_model_to_json()
    _check_complete(trained)
    return capped_at_agreement(trained)


def estimate_u_in_series(linker: Any, config: ResolutionConfig) -> Any:
    """u of every comparison, counted over the whole sample in one pass.

    In more chunks (Splink's ``num_chunks``), Splink stops at the first chunk where
    every level of a comparison has 100 pairs: for sex or region that is a probe of a
    dozen right-hand records, which put the region's u a third off on the test data,
    and which records those are depends on the engine's hash function, so DuckDB and
    Spark trained different models.
    """
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_sample_pairs,
                                                     seed=U_SEED, num_chunks=1)
    return linker


def missing_comparisons(trained: dict[str, Any]) -> list[str]:
    """The comparisons a trained model lacks: none, unless training went wrong.
    Splink changes the model in place, and a failed EM session once left a model with
    only region, sex and address (``_expectation_maximisation``)."""
    kept = {c.get("output_column_name") for c in trained.get("comparisons", [])}
    return [name for name in COMPARISONS if name not in kept]


def outdated_comparisons(trained: dict[str, Any]) -> list[str]:
    """The comparisons a stored model lacks or that this version makes otherwise. Such a
    model is trained again, in a full run: scoring new records with it would compare
    them by rules the register no longer has (a birth date's levels, say)."""
    current = {c["output_column_name"]: [lv["sql_condition"] for lv in c["comparison_levels"]]
               for c in settings(ResolutionConfig()).create_settings_dict("duckdb")["comparisons"]}
    stored = {c.get("output_column_name"): [lv.get("sql_condition")
                                            for lv in c.get("comparison_levels", [])]
              for c in trained.get("comparisons", [])}
    return [name for name in COMPARISONS if stored.get(name) != current[name]]


def _check_complete(trained: dict[str, Any]) -> None:
    """Refuse a model that lost a comparison: it would link records on what is left."""
    missing = missing_comparisons(trained)
    if missing:
        raise MusterError(
            f"Training produced a model without the comparison(s) {', '.join(missing)}.",
            hint="Nothing was written: the previous resolution stays in force. This is a "
                 "defect in muster or Splink; please report it with the version of each "
                 "(pip show muster splink).")


def capped_at_agreement(trained: dict[str, Any]) -> dict[str, Any]:
    """The model with no level of a comparison weighing more than its exact agreement.

    Training weighs a level by how rarely random pairs reach it. Two names swapped, or
    patronymics one letter apart, almost never happen by chance, so they came out at
    12.6 and 8.0 bits where the same names in place weigh 7.6 and 6.7; and a swap
    counts in both the family and the given name. Swapped names then counted 25 bits
    against 14 for the very same names in place, and a namesake's record with swapped
    names joined another person, in another region, more strongly than any of that
    person's own records joined each other. Capping keeps each level's m (how often a
    true match shows it) and raises its u (how often a chance pair does) to where the
    level is worth at most the agreement it approximates.
    """
    capped = copy.deepcopy(trained)
    for comparison in capped.get("comparisons", []):
        agreement, *others = [lv for lv in comparison.get("comparison_levels", [])
                              if not lv.get("is_null_level")] or [{}]
        m, u = _probability(agreement, "m"), _probability(agreement, "u")
        if m is None or u is None or m <= u:  # agreement is no evidence: nothing to cap at
            continue
        for level in others:
            m_level, u_level = _probability(level, "m"), _probability(level, "u")
            if m_level is None:
                continue  # not seen among matches: Splink's default stands
            # No chance pair reached the level (no u): Splink would weigh it by a
            # default schedule, or without end.
            if u_level is None or m_level / u_level > m / u:
                level["u_probability"] = m_level * u / m
    return capped


def _probability(level: dict[str, Any], which: str) -> float | None:
    """A level's trained m or u; None where training left none (or wrote Splink's
    "level not observed" in its place)."""
    value = level.get(f"{which}_probability")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _train_m(linker: Any) -> None:
    # Each EM session trains the comparisons that use none of its blocking columns
    # (the swap levels make family and given names use both keys); together they
    # cover all. Blockings stay narrow: at 4.5M records a birth date alone pairs
    # 400M records and family + given name 960M, beyond this machine's memory. The
    # later choices of a session serve registers without middle names.
    sessions = [
        # family and given names
        [block_on("middle_key", "birth_text"), block_on("birth_text")],
        [block_on("family_key", "birth_text")],  # middle name
        [block_on("family_key", "given_key", "middle_key"),  # birth date
         block_on("family_key", "given_key", "region"), block_on("family_key", "given_key")],
    ]
    for first, *fallbacks in sessions:
        if _expectation_maximisation(linker, first, max_pairs=EM_PAIRS):
            continue
        for blocking in fallbacks:
            if _expectation_maximisation(linker, blocking, max_pairs=EM_FALLBACK_PAIRS):
                break


def _expectation_maximisation(linker: Any, blocking: Any, max_pairs: float | None = None) -> bool:
    """One EM session; False, and the model as it was, when the blocking pairs no records.

    Splink (5.0) hands the session the linker's own model, from which the session takes
    the comparisons its blocking uses and on which it sets the blocking's prior, before
    it finds no pairs and raises: the failed session's changes stayed. On a register
    without middle names the first blocking (middle name and birth date) then took the
    birth date out of the model, and the last took the names: the model scored region
    and address alone, its prior was 0.99999997, and FEBRL4 was linked by its
    identifiers only.

    EM iterates on the counts of each pattern of comparison levels, not on every pair
    with its term-frequency adjustments: on 430,000 records that made EM nearly three
    times faster and moved no pair's weight by more than 0.02.
    """
    settings = linker._settings_obj
    before = settings.core_model_settings.copy()
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            blocking, estimate_without_term_frequencies=True, max_pairs=max_pairs)
    except EMTrainingException:
        settings.core_model_settings = before
        return False
    return True


def _estimate_prior(linker: Any) -> None:
    """The chance that two random records match: from shared identifiers, or, in a
    register without any, from records agreeing on full name and birth date."""
    for rules in ([block_on("national_id"), block_on("tax_id")],
                  [block_on("family_key", "given_key", "birth_text")]):
        try:
            linker.training.estimate_probability_two_random_records_match(rules, recall=0.8)
        # Splink takes the log of a zero estimate (no pair agrees), or divides by the
        # pairs of fewer than two records (a training sample of one, say).
        except (ValueError, ZeroDivisionError):
            continue
        if linker.misc.save_model_to_json()["probability_two_random_records_match"] > 0:
            return
    raise MusterError("Too few records agree on anything to train the linkage model.",
                      hint="Resolution needs records that share identifiers, or names and "
                           "birth dates; ingest more sources first (or, if the profile sets "
                           "resolution.train_records, train on a larger sample).")

"""The Splink model: comparisons suited to register data, and how it is trained.

Names are compared on their transliteration-insensitive keys (computed at ingest),
with term-frequency adjustments so that a shared common name counts for less than
a rare one. Birth dates have a level for a day/month swap and one for a single
typed-wrong character. The same settings serve every engine.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import day_month_swapped

# Comparison name -> the record column it is about (for explanations).
COMPARISONS = {
    "family_name": "family_key", "given_name": "given_key", "middle_name": "middle_key",
    "birth_date": "birth_text", "sex": "sex", "region": "region", "address": "address",
}
MODEL_COLUMNS = ("rid", "source", "record_id", "family_key", "given_key", "middle_key",
                 "birth_date", "birth_text", "sex", "region", "address", "address_tokens",
                 "national_id", "tax_id")


def _swap_level() -> cll.CustomLevel:
    return cll.CustomLevel(
        "family_key_l = given_key_r AND given_key_l = family_key_r",
        "family and given names swapped",
    )


def settings(config: ResolutionConfig) -> SettingsCreator:
    swapped_dates = (day_month_swapped("l", "r")
                     .replace("l.birth_date", "birth_date_l")
                     .replace("r.birth_date", "birth_date_r"))
    family = cl.CustomComparison([
        cll.NullLevel("family_key"),
        cll.ExactMatchLevel("family_key", term_frequency_adjustments=True),
        _swap_level(),
        cll.JaroWinklerLevel("family_key", 0.95),
        cll.JaroWinklerLevel("family_key", 0.88),
        cll.ElseLevel(),
    ], output_column_name="family_name")
    given = cl.CustomComparison([
        cll.NullLevel("given_key"),
        cll.ExactMatchLevel("given_key", term_frequency_adjustments=True),
        _swap_level(),
        cll.JaroWinklerLevel("given_key", 0.95),
        cll.ElseLevel(),
    ], output_column_name="given_name")
    middle = cl.CustomComparison([
        cll.NullLevel("middle_key"),
        cll.ExactMatchLevel("middle_key", term_frequency_adjustments=True),
        cll.JaroWinklerLevel("middle_key", 0.95),
        cll.ElseLevel(),
    ], output_column_name="middle_name")
    birth = cl.CustomComparison([
        cll.NullLevel("birth_text"),
        cll.ExactMatchLevel("birth_text"),
        cll.CustomLevel(swapped_dates, "day and month swapped"),
        cll.LevenshteinLevel("birth_text", 1),
        cll.ElseLevel(),
    ], output_column_name="birth_date")
    address = cl.CustomComparison([
        cll.NullLevel("address"),
        cll.ExactMatchLevel("address"),
        cll.ArrayIntersectLevel("address_tokens", 3),
        cll.ElseLevel(),
    ], output_column_name="address")
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rid",
        comparisons=[family, given, middle, birth, cl.ExactMatch("sex"),
                     cl.ExactMatch("region"), address],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # the gamma (level) columns come with them
    )


def blocking_rules() -> list[Any]:
    """Candidate pairs: each rule tolerates a different kind of error in the others."""
    return [
        block_on("family_key", "birth_text"),  # typo in a given or middle name
        block_on("given_key", "middle_key", "birth_text"),  # typo or change in family name
        block_on("family_key", "given_key", "year(birth_date)"),  # swapped or mistyped date
        block_on("family_key", "given_key", "middle_key", "region"),  # birth date missing
        "l.family_key = r.given_key AND l.given_key = r.family_key "
        "AND year(l.birth_date) = year(r.birth_date)",  # family and given names swapped
    ]


def train(linker: Any, config: ResolutionConfig) -> None:
    """Unsupervised: prior from identifiers, u by sampling, m by EM on two blockings."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("national_id"), block_on("tax_id")], recall=0.8)
    training.estimate_u_using_random_sampling(max_pairs=config.u_sample_pairs, seed=1)
    training.estimate_parameters_using_expectation_maximisation(block_on("birth_text"))
    training.estimate_parameters_using_expectation_maximisation(
        block_on("family_key", "given_key"))

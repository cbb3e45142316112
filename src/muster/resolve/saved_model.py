"""A trained model as a run stored it, read back without Splink: the levels' labels,
the prior and each link's contributions, for explanations. Reading a person
(queries.py) needs these alone; importing Splink for them cost `muster person show`
a third of a second at every start.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Comparison name -> the record column it is about (for explanations).
COMPARISONS = {
    "family_name": "family_key", "given_name": "given_key", "middle_name": "middle_key",
    "birth_date": "birth_text", "sex": "sex", "region": "region", "address": "address",
}


def contributions_by_name(stored: str | None) -> dict[str, list[Any]]:
    """A link's stored contributions: comparison name -> [level, weight].

    A link stores them as a JSON array in the order of ``COMPARISONS``, null for a
    comparison the model had no data for: keyed by name they took 143 bytes a link,
    1.4 GB of a register of a million persons. Stores written before kept the object."""
    if not stored:
        return {}
    data = json.loads(stored)
    if isinstance(data, dict):
        return data
    return {name: c for name, c in zip(COMPARISONS, data, strict=False) if c is not None}


def prior_weight(trained: dict[str, Any]) -> float:
    """log2 of the model's prior odds that two random records match.

    Splink adds it to every pair's weight. muster's thresholds and explanations
    leave it out: what remains is the evidence (the log2 Bayes factor), the same
    for a pair whatever the size of the register, where the prior falls by a bit
    each time the register doubles.
    """
    p = float(trained["probability_two_random_records_match"])
    return math.log2(p / (1 - p))


MISSING = "missing on one side"  # the null level's label


def level_labels(trained: dict[str, Any]) -> dict[str, dict[int, str]]:
    """comparison -> gamma value -> the level's description, from a saved model."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in trained.get("comparisons", []):
        name = comparison.get("output_column_name", "")
        levels = comparison.get("comparison_levels", [])
        # Splink numbers levels from the last (ElseLevel = 0) up; the null level is -1.
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        mapping = {len(non_null) - 1 - i: lv.get("label_for_charts", "") for i, lv in
                   enumerate(non_null)}
        mapping[-1] = MISSING
        labels[name] = mapping
    return labels

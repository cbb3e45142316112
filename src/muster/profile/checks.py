"""Identifier check-digit algorithms, named by profiles.

A profile is data: it names one of these algorithms for each identifier. Every
algorithm exists in three forms that must agree (tests check they do):
``is_valid`` for one value (explanations), ``valid_sql`` for a whole column in
DuckDB (ingest), and ``complete`` to append check digits to many numbers at once
(synthetic data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_SNILS_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, 1)
_INN_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _digit_sql(expr: str, position: int) -> str:
    return f"TRY_CAST(substr({expr}, {position}, 1) AS INTEGER)"


def _weighted_sum_sql(expr: str, weights: tuple[int, ...]) -> str:
    return " + ".join(f"{w}*{_digit_sql(expr, i + 1)}" for i, w in enumerate(weights))


def _weighted(digits: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    return digits[:, : len(weights)] @ np.asarray(weights, dtype=np.int64)


def _to_digits(value: str) -> list[int]:
    return [int(c) for c in value]


@dataclass(frozen=True)
class CheckAlgorithm:
    name: str
    description: str
    body_length: int | None  # digits before the check digits; None = any length
    is_valid: Callable[[str], bool]
    valid_sql: Callable[[str], str]
    complete: Callable[[np.ndarray], np.ndarray]  # (n, body) digits -> (n, body+check)


# --- SNILS: 9 digits, then two check digits = weighted sum mod 101 (100 -> 00) ---------
def _mod101_check(body: list[int]) -> int:
    return sum(w * d for w, d in zip(_SNILS_WEIGHTS, body, strict=True)) % 101 % 100


def _mod101_valid(value: str) -> bool:
    if len(value) != 11 or not value.isdigit():
        return False
    digits = _to_digits(value)
    return _mod101_check(digits[:9]) == digits[9] * 10 + digits[10]


def _mod101_sql(expr: str) -> str:
    return (
        f"(({_weighted_sum_sql(expr, _SNILS_WEIGHTS)}) % 101 % 100"
        f" = TRY_CAST(substr({expr}, 10, 2) AS INTEGER))"
    )


def _mod101_complete(body: np.ndarray) -> np.ndarray:
    check = _weighted(body, _SNILS_WEIGHTS) % 101 % 100
    return np.column_stack([body, check // 10, check % 10])


# --- Personal INN: 10 digits, then two check digits, each weighted mod 11 mod 10 -------
def _inn12_valid(value: str) -> bool:
    if len(value) != 12 or not value.isdigit():
        return False
    d = _to_digits(value)
    n11 = sum(w * x for w, x in zip(_INN_WEIGHTS_11, d[:10], strict=True)) % 11 % 10
    n12 = sum(w * x for w, x in zip(_INN_WEIGHTS_12, d[:11], strict=True)) % 11 % 10
    return n11 == d[10] and n12 == d[11]


def _inn12_sql(expr: str) -> str:
    return (
        f"((({_weighted_sum_sql(expr, _INN_WEIGHTS_11)}) % 11 % 10 = {_digit_sql(expr, 11)})"
        f" AND (({_weighted_sum_sql(expr, _INN_WEIGHTS_12)}) % 11 % 10"
        f" = {_digit_sql(expr, 12)}))"
    )


def _inn12_complete(body: np.ndarray) -> np.ndarray:
    n11 = _weighted(body, _INN_WEIGHTS_11) % 11 % 10
    with11 = np.column_stack([body, n11])
    n12 = _weighted(with11, _INN_WEIGHTS_12) % 11 % 10
    return np.column_stack([with11, n12])


# --- Luhn (mod 10), used by the Latinia profile -----------------------------------------
def _luhn_valid(value: str) -> bool:
    if len(value) < 2 or not value.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(value)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _luhn_sql_for_length(expr: str, length: int) -> str:
    terms = []
    for pos in range(1, length + 1):
        d = _digit_sql(expr, pos)
        doubled = (length - pos) % 2 == 1
        terms.append(f"(CASE WHEN {d}*2 > 9 THEN {d}*2-9 ELSE {d}*2 END)" if doubled else d)
    return "(" + " + ".join(terms) + ")"


def _luhn_sql(expr: str) -> str:
    # Luhn weights depend on the length; profiles fix the length, so cover the usual range.
    cases = " ".join(
        f"WHEN {n} THEN {_luhn_sql_for_length(expr, n)} % 10 = 0" for n in range(2, 21)
    )
    return f"(CASE length({expr}) {cases} ELSE FALSE END)"


def _luhn_complete(body: np.ndarray) -> np.ndarray:
    n, width = body.shape
    total = np.zeros(n, dtype=np.int64)
    for i in range(width):  # loop over digit positions, not over people
        d = body[:, width - 1 - i].astype(np.int64)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = np.where(d * 2 > 9, d * 2 - 9, d * 2)
        total += d
    return np.column_stack([body, (10 - total % 10) % 10])


def _none_sql(expr: str) -> str:
    return "TRUE"


ALGORITHMS: dict[str, CheckAlgorithm] = {
    "mod101": CheckAlgorithm(
        "mod101", "SNILS: 9 digits + 2 check digits (weighted sum mod 101)",
        9, _mod101_valid, _mod101_sql, _mod101_complete,
    ),
    "inn12": CheckAlgorithm(
        "inn12", "personal INN: 10 digits + 2 check digits (weighted mod 11 mod 10)",
        10, _inn12_valid, _inn12_sql, _inn12_complete,
    ),
    "luhn": CheckAlgorithm(
        "luhn", "Luhn mod 10: digits + 1 check digit",
        None, _luhn_valid, _luhn_sql, _luhn_complete,
    ),
    "none": CheckAlgorithm(
        "none", "format only, no check digits",
        None, lambda v: True, _none_sql, lambda body: body,
    ),
}

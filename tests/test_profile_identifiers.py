"""Identifiers of the default profile: SNILS-style national_id, personal INN tax_id, passport.

The check-digit rules are written out again here, independently and literally from
their public definitions, so these tests do not trust the code they test. The SQL
form used by ingest (DuckDB) must agree with the Python form value for value.
"""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from muster.profile import load_profile
from muster.profile.identifiers import IdentifierSpec

DIGITS = "0123456789"


# --- independent reference implementations ------------------------------------------
def snils_weighted_sum(body: str) -> int:
    """Digits 1..9 weighted 9, 8, ..., 1 (the first digit has weight 9)."""
    return sum(weight * int(digit) for weight, digit in zip(range(9, 0, -1), body, strict=True))


def snils_check(body: str) -> str:
    """The published SNILS rule, step by step: < 100 -> the sum; 100 or 101 -> 00;
    > 101 -> the sum mod 101, and if that is 100 -> 00."""
    total = snils_weighted_sum(body)
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


def snils_ok(value: str) -> bool:
    return len(value) == 11 and value.isascii() and value.isdigit() and (
        snils_check(value[:9]) == value[9:]
    )


def inn_control(digits: str, weights: tuple[int, ...]) -> str:
    """One personal INN control digit: weighted sum mod 11; a remainder of 10 gives 0."""
    remainder = sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11
    return "0" if remainder == 10 else str(remainder)


INN_W1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_W2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_complete(body10: str) -> str:
    with_first = body10 + inn_control(body10, INN_W1)
    return with_first + inn_control(with_first, INN_W2)


def inn_ok(value: str) -> bool:
    return len(value) == 12 and value.isascii() and value.isdigit() and (
        inn_complete(value[:10]) == value
    )


IDS = load_profile("default").identifiers


@pytest.fixture(scope="module")
def ids() -> dict[str, IdentifierSpec]:
    return IDS


# --- the reference itself, against published and hand-computed values ---------------
@pytest.mark.parametrize(
    ("body", "weighted_sum", "check"),
    [
        ("112233445", 95, "95"),   # the SNILS 112-233-445 95 of every tutorial
        ("920000010", 99, "99"),   # largest sum used as is
        ("920000100", 100, "00"),  # exactly 100 -> 00
        ("920000101", 101, "00"),  # exactly 101 -> 00
        ("920000110", 102, "01"),  # > 101: mod 101
        ("996100000", 201, "00"),  # > 101 and mod 101 gives 100 -> 00
        ("779867054", 302, "00"),  # idem (302 mod 101 = 100)
        ("999999997", 403, "00"),  # idem (403 mod 101 = 100)
        ("999999999", 405, "01"),  # the largest possible sum
        ("000000000", 0, "00"),
    ],
)
def test_snils_reference_and_code_agree_on_special_sums(ids, body, weighted_sum, check):
    assert snils_weighted_sum(body) == weighted_sum
    assert snils_check(body) == check
    spec = ids["national_id"]
    assert spec.is_valid(body + check)
    assert spec.problem(body + check) is None
    wrong = f"{(int(check) + 1) % 100:02d}"
    assert spec.problem(body + wrong) == "bad_check_digits"


def test_snils_special_sums_are_distinct_from_the_plain_remainder(ids):
    # 100 and 101 both give 00, so check "00" and check "100 % 100" must not be confused
    # with a two-digit "100"; and 101 must not give "01".
    assert not ids["national_id"].is_valid("92000010101")
    assert not ids["national_id"].is_valid("99610000001")


def test_inn_reference_reproduces_the_cited_example():
    # 500100732259: control digits worked by hand in the reference's own terms.
    assert inn_control("5001007322", INN_W1) == "5"   # 148 mod 11 = 5
    assert inn_control("50010073225", INN_W2) == "9"  # 141 mod 11 = 9
    assert inn_ok("500100732259")


@pytest.mark.parametrize("value", ["500100732259", "773370857141", "000000000000"])
def test_known_personal_inns_are_valid(ids, value):
    assert inn_ok(value), "reference disagrees: the example itself is wrong"
    assert ids["tax_id"].is_valid(value)
    assert ids["tax_id"].problem(value) is None


def test_inn_control_remainder_ten_becomes_zero(ids):
    # Find bodies whose first / second remainder is exactly 10 and check the code agrees.
    rng = random.Random(3)
    seen_first = seen_second = False
    while not (seen_first and seen_second):
        body = "".join(rng.choice(DIGITS) for _ in range(10))
        first_is_ten = sum(w * int(d) for w, d in zip(INN_W1, body, strict=True)) % 11 == 10
        full = inn_complete(body)
        second_is_ten = sum(w * int(d) for w, d in zip(INN_W2, full[:11], strict=True)) % 11 == 10
        if first_is_ten or second_is_ten:
            assert ids["tax_id"].is_valid(full), full
            seen_first |= first_is_ten
            seen_second |= second_is_ten


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("500100732258", "bad_check_digits"),  # second control digit wrong
        ("500100732269", "bad_check_digits"),  # first control digit wrong
        ("500100732295", "bad_check_digits"),  # control digits swapped
        ("600100732259", "bad_check_digits"),  # body changed
        ("7707083893", "bad_format"),          # a 10-digit legal-entity INN, not a person's
        ("50010073225", "bad_format"),
        ("5001007322590", "bad_format"),
        ("50010073225O", "bad_format"),        # letter O for zero
        ("112-233-445 95", "bad_format"),      # a SNILS in the tax field
    ],
)
def test_invalid_inns(ids, value, problem):
    assert ids["tax_id"].problem(value) == problem
    assert not ids["tax_id"].is_valid(value)


# --- format, formatting and the two kinds of problem --------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "112-233-445 95",
        "112 233 445 95",
        "112-233-44595",
        "11223344595",
        " 112 233 445 95 ",
        "112.233.445 95",
        "112-233-445-95",
        "112\u00a0233\u00a0445\u00a095",  # no-break spaces (spreadsheet exports)
        "112\u202f233\u202f445\u202f95",  # narrow no-break spaces (Russian locale)
        "112\u2013233\u2013445 95",       # en dashes
        "112\t233\t445\t95",
    ],
)
def test_formatting_is_ignored(ids, raw):
    spec = ids["national_id"]
    assert spec.clean(raw) == "11223344595"
    assert spec.problem(raw) is None
    assert spec.is_valid(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("112-233-445 94", "bad_check_digits"),
        ("112-233-445 59", "bad_check_digits"),
        ("212-233-445 95", "bad_check_digits"),
        ("121-233-445 95", "bad_check_digits"),  # adjacent digits swapped
        ("112-233-445 9", "bad_format"),         # too short
        ("112-233-445 955", "bad_format"),       # too long
        ("112-233-44a 95", "bad_format"),        # a letter
        ("ABC", "bad_format"),
        ("112-233-445 9S", "bad_format"),
        ("１１２２３３４４５９５", "bad_format"),    # full-width digits are not digits here
        ("112_233_445_95", "bad_format"),        # underscore is not a separator
        ("+11223344595", "bad_format"),
    ],
)
def test_national_id_problems(ids, raw, problem):
    assert ids["national_id"].problem(raw) == problem
    assert not ids["national_id"].is_valid(raw)


@pytest.mark.parametrize("field", ["national_id", "tax_id", "passport_no"])
@pytest.mark.parametrize("raw", [None, "", "   ", " - ", "\u00a0"])
def test_empty_is_absent_not_a_problem(ids, field, raw):
    # An empty field is missing, not wrong: nothing to flag, and nothing to link on.
    spec = ids[field]
    assert spec.clean(raw) is None
    assert spec.problem(raw) is None
    assert not spec.is_valid(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("4509 123456", None),
        ("45 09 123456", None),
        ("4509-123456", None),
        ("0000 000001", None),     # no check digits: any 4+6 digits are well formed
        ("4509 12345", "bad_format"),
        ("4509 1234567", "bad_format"),
        ("45O9 123456", "bad_format"),
        ("IV-AB 123456", "bad_format"),  # Soviet-style series is not a 4+6 passport
    ],
)
def test_passport_series_and_number(ids, raw, problem):
    assert ids["passport_no"].problem(raw) == problem
    assert ids["passport_no"].is_valid(raw) is (problem is None)


# --- the Python check equals the reference everywhere --------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(DIGITS, min_size=11, max_size=11))
def test_any_11_digits_snils_matches_reference(value):
    spec = IDS["national_id"]
    assert spec.is_valid(value) == snils_ok(value)


@settings(max_examples=200, deadline=None)
@given(st.text(DIGITS, min_size=10, max_size=10), st.text(DIGITS, min_size=2, max_size=2))
def test_any_12_digits_inn_matches_reference(body, tail):
    spec = IDS["tax_id"]
    assert spec.is_valid(inn_complete(body))
    assert spec.is_valid(body + tail) == inn_ok(body + tail)


# --- single-digit errors -------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    st.text(DIGITS, min_size=10, max_size=10),
    st.integers(0, 11),
    st.integers(1, 9),
)
def test_inn_detects_every_single_digit_change(body, position, shift):
    # Holds for the INN: a change at body position i moves both weighted sums by a
    # non-zero amount mod 11, and the two sums could only both slip through the
    # "10 -> 0" collapse if W2[i] = +-W1[i] mod 11, which is true for no position.
    spec = IDS["tax_id"]
    valid = inn_complete(body)
    changed = valid[:position] + str((int(valid[position]) + shift) % 10) + valid[position + 1:]
    assert not spec.is_valid(changed)
    assert spec.problem(changed) == "bad_check_digits"


@settings(max_examples=200, deadline=None)
@given(
    st.text(DIGITS, min_size=9, max_size=9),
    st.integers(0, 10),
    st.integers(1, 9),
)
def test_snils_detects_single_digit_changes_except_its_one_blind_spot(body, position, shift):
    # A body change moves the weighted sum by w*delta, with 1 <= |w*delta| <= 81, so the
    # remainder mod 101 always changes. But the rule writes remainders 0 and 100 both as
    # "00": a change of the last body digit (weight 1) by +-1 that moves the remainder
    # between 0 and 100 keeps the number valid. That is SNILS itself, not the code.
    spec = IDS["national_id"]
    valid = body + snils_check(body)
    new_digit = (int(valid[position]) + shift) % 10
    changed = valid[:position] + str(new_digit) + valid[position + 1:]
    delta = new_digit - int(valid[position])
    blind_spot = (
        position == 8
        and abs(delta) == 1
        and {snils_weighted_sum(body) % 101, snils_weighted_sum(changed[:9]) % 101} == {0, 100}
    )
    assert spec.is_valid(changed) is blind_spot


def test_snils_blind_spot_example(ids):
    # 779867054 sums to 302 (remainder 100), 779867055 to 303 (remainder 0): both "00".
    assert snils_ok("77986705400") and snils_ok("77986705500")
    assert ids["national_id"].is_valid("77986705400")
    assert ids["national_id"].is_valid("77986705500")


# --- synthetic identifiers ----------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "reference", "length"),
    [("national_id", snils_ok, 11), ("tax_id", inn_ok, 12), ("passport_no", None, 10)],
)
def test_generate_gives_valid_and_essentially_unique_ids(ids, field, reference, length):
    spec = ids[field]
    values = [str(v) for v in spec.generate(np.random.default_rng(2024), 10_000)]
    assert len(values) == 10_000
    assert all(len(v) == length and v.isascii() and v.isdigit() for v in values)
    assert all(spec.is_valid(v) for v in values)
    if reference is not None:
        assert all(reference(v) for v in values)
    # SNILS has 9 free digits: ~0.06 collisions expected among 10,000 random bodies.
    assert len(set(values)) >= 10_000 - 3


def test_generate_is_reproducible(ids):
    a = ids["national_id"].generate(np.random.default_rng(5), 50)
    b = ids["national_id"].generate(np.random.default_rng(5), 50)
    assert list(a) == list(b)


# --- the DuckDB form agrees with the Python form ------------------------------------
NOISE = " -.\u00a0\u202f\u2013/\t"
JUNK_ALPHABET = (
    DIGITS * 4 + "aAoOzZßıİЗзOl_+*#'\"\\%\u00a0\u202f\u2009\u2013\u2014\u3000 -./\t\n１٣²"
)


def _formatted(rng: random.Random, value: str) -> str:
    out = []
    for ch in value:
        out.append(ch)
        if rng.random() < 0.15:
            out.append(rng.choice(NOISE))
    text = "".join(out)
    if rng.random() < 0.1:
        text = f" {text} "
    return text


def _corrupted(rng: random.Random, value: str) -> str:
    kind = rng.randrange(8)
    i = rng.randrange(len(value))
    if kind == 0:  # one digit changed
        return value[:i] + str((int(value[i]) + rng.randint(1, 9)) % 10) + value[i + 1:]
    if kind == 1 and i < len(value) - 1:  # adjacent transposition
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    if kind == 2:  # a digit dropped
        return value[:i] + value[i + 1:]
    if kind == 3:  # a digit added
        return value[:i] + rng.choice(DIGITS) + value[i:]
    if kind == 4:  # a look-alike letter
        return value[:i] + rng.choice("OoIlЗзB") + value[i + 1:]
    if kind == 5:  # a non-ASCII digit
        return value[:i] + rng.choice("１٣²") + value[i + 1:]
    if kind == 6:  # lower-case letters that Python and DuckDB upper-case differently
        return rng.choice("ßı") + value
    return value[::-1]


def _sample_values(spec: IdentifierSpec, field: str) -> list[str | None]:
    rng = random.Random(f"sql-{field}")
    if field == "national_id":
        bodies = ["".join(rng.choices(DIGITS, k=9)) for _ in range(1500)]
        valid = [b + snils_check(b) for b in bodies]
    elif field == "tax_id":
        valid = [inn_complete("".join(rng.choices(DIGITS, k=10))) for _ in range(1500)]
    else:
        valid = ["".join(rng.choices(DIGITS, k=10)) for _ in range(1500)]
    generated = [str(v) for v in spec.generate(np.random.default_rng(11), 500)]
    values: list[str | None] = []
    values += [_formatted(rng, v) for v in valid + generated]
    values += [_formatted(rng, _corrupted(rng, v)) for v in valid for _ in range(2)]
    values += ["".join(rng.choices(JUNK_ALPHABET, k=rng.randint(0, 16))) for _ in range(800)]
    values += [None, "", " ", "-", "\u00a0", "ß" * 6, "ı" * 11, "112-233-445 95", "500100732259"]
    return values


def _sql_results(spec: IdentifierSpec, values: list[str | None]) -> list[tuple]:
    con = duckdb.connect()
    con.register("t", pa.table({
        "i": pa.array(range(len(values)), pa.int64()),
        "raw": pa.array(values, pa.string()),
    }))
    cleaned = spec.clean_sql("raw")
    rows = con.sql(f"""
        WITH c AS (SELECT i, {cleaned} AS cleaned FROM t),
        f AS (SELECT i, cleaned, {spec.format_ok_sql("cleaned")} AS fmt,
                     {spec.check_ok_sql("cleaned")} AS chk FROM c)
        SELECT cleaned,
               CASE WHEN cleaned IS NULL THEN NULL
                    WHEN NOT fmt THEN 'bad_format'
                    WHEN NOT coalesce(chk, FALSE) THEN 'bad_check_digits' END AS problem,
               coalesce(fmt AND chk, FALSE) AS valid
        FROM f ORDER BY i
    """).fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("field", ["national_id", "tax_id", "passport_no"])
def test_sql_form_agrees_with_python_form(ids, field):
    spec = ids[field]
    values = _sample_values(spec, field)
    python = [(spec.clean(v), spec.problem(v), spec.is_valid(v)) for v in values]
    sql = _sql_results(spec, values)
    mismatches = [(v, p, s) for v, p, s in zip(values, python, sql, strict=True) if p != s]
    assert not mismatches, f"{len(mismatches)} disagreements, e.g. {mismatches[:5]}"
    # the sample really exercises every outcome
    outcomes = {p[1] for p in python}
    assert outcomes >= ({None, "bad_format", "bad_check_digits"} if field != "passport_no"
                        else {None, "bad_format"})
    assert sum(p[2] for p in python) >= 2000

"""The law file and the calendar: parsing, validation (every problem at once), dates."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from muster.eligibility.dates import add_months, age_on, earliest_start, latest_start
from muster.eligibility.law import PARAMETERS, load_law, parse_law
from muster.errors import ConfigError
from muster.profile import load_profile

REFERENCE = load_law(load_profile("default"))


def test_reference_law_values_and_the_2024_change() -> None:
    assert REFERENCE.name == "reference"
    assert set(REFERENCE.parameters) == set(PARAMETERS)
    before, on = REFERENCE.values_on(date(2023, 12, 31)), REFERENCE.values_on(date(2024, 1, 1))
    assert before["conscription_max_age"] == 27
    assert on["conscription_max_age"] == 30
    assert on["registration_age"] == 18
    assert on["reserve_max_age"] == 50
    assert on["conscription_fitness"] == ("A", "B")
    assert on["reserve_fitness"] == ("A", "B", "C")
    assert on["unfit_fitness"] == ("E",)
    assert on["limited_fitness"] == ("C",)
    assert on["temporary_unfitness"] == ("D",)
    assert on["temporary_unfitness_months"] == 12
    assert on["fitness_valid_months"] == 24
    assert on["min_dependents"] == 2
    assert on["protected_occupations"] == ("physician", "nurse", "teacher", "firefighter")
    assert REFERENCE.started_on(date(2024, 6, 1))["conscription_max_age"] == date(2024, 1, 1)
    assert load_law(load_profile("latinia")).sha256 == REFERENCE.sha256


def test_an_invalid_law_file_lists_every_problem(tmp_path: Path) -> None:
    text = REFERENCE.text
    text = text.replace('value = ["M"]', 'value = "M"')
    text = text.replace("{ from = 2024-01-01, value = 30 }",
                        '{ from = "2024-13-01", value = 30 }, { value = 31 }')
    text = text.replace("[parameters.reserve_max_age]\n",
                        "[parameters.reserve_max_age]\nvalu = 1\n")
    text = text.replace("value = 2\n", "value = -2\n")
    text = text.replace("value = 50\n", "value = 100000\n")  # was: an unexpected error
    text = text.replace('version = "2024-01-01"', f'version = "{"v" * 101}"')  # on PostgreSQL
    start = text.index("[parameters.fitness_valid_months]")
    text = text[:start] + text[text.index("[parameters.min_dependents]"):]
    text += "\n[parameters.max_dependents]\nvalue = 3\n"
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_law(path)
    problems = "\n".join(caught.value.problems)
    assert "parameters.subject_sexes.value: must be a list" in problems
    assert "periods[2]: `from` must be a date" in problems
    assert "periods[3]: only the first period may omit `from`" in problems
    assert "parameters.reserve_max_age: unknown key 'valu'" in problems
    assert "parameters.min_dependents.value: must be a whole number" in problems
    assert ("parameters.reserve_max_age.value: must be a whole number of years from 0 to 150,"
            " got 100000") in problems
    assert "parameters.max_dependents: unknown parameter" in problems
    assert "law.version has 101 characters; at most 100" in problems
    assert "parameters.fitness_valid_months is missing" in problems
    assert len(caught.value.problems) >= 7
    assert str(path) in caught.value.message


def test_a_code_the_register_never_holds_is_refused(tmp_path: Path) -> None:
    # Such a code matches nobody: a typo quietly took everyone of category B out of
    # conscription, and men out of registration.
    text = REFERENCE.text.replace('value = ["A", "B"]', 'value = ["A", "b"]', 1)
    text = text.replace('value = ["M"]', 'value = ["male", "M"]')
    path = tmp_path / "typo.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_law(path)
    assert caught.value.problems == [
        "parameters.subject_sexes.value: the register has no sex code 'male' (its codes: M, F)",
        "parameters.conscription_fitness.value: the register has no fitness_category code 'b' "
        "(its codes: A, B, C, D, E)",
    ]


def test_a_law_file_that_is_not_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[law\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid UTF-8 TOML"):
        parse_law(path)
    with pytest.raises(ConfigError, match="Cannot read the law file"):
        parse_law(tmp_path / "missing.toml")


def test_a_parameter_with_no_value_in_force_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "late.toml"
    path.write_text(REFERENCE.text.replace("{ value = 27 }", "{ from = 2020-01-01, value = 27 }"),
                    encoding="utf-8")
    law = parse_law(path)
    assert law.values_on(date(2020, 1, 1))["conscription_max_age"] == 27
    with pytest.raises(ConfigError, match="no value in force on 2019-12-31"):
        law.values_on(date(2019, 12, 31))


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2004, 2, 29), 12 * 18, date(2022, 3, 1)),  # 29 February -> 1 March, common year
    (date(2004, 2, 29), 12 * 20, date(2024, 2, 29)),  # leap year: the day itself
    (date(2024, 1, 31), 1, date(2024, 3, 1)),
    (date(2023, 8, 31), 6, date(2024, 3, 1)),
    (date(2023, 6, 1), 12, date(2024, 6, 1)),
    (date(2023, 12, 15), 1, date(2024, 1, 15)),
])
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("birth", "as_of", "age"), [
    (date(2006, 6, 1), date(2024, 5, 31), 17),
    (date(2006, 6, 1), date(2024, 6, 1), 18),
    (date(2004, 2, 29), date(2022, 2, 28), 17),
    (date(2004, 2, 29), date(2022, 3, 1), 18),
    (date(2004, 2, 29), date(2024, 2, 28), 19),
    (date(2004, 2, 29), date(2024, 2, 29), 20),
])
def test_age_in_whole_years(birth: date, as_of: date, age: int) -> None:
    assert age_on(birth, as_of) == age


days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(days, days, st.integers(min_value=0, max_value=12 * 60))
def test_add_months_is_monotone(a: date, b: date, months: int) -> None:
    if a <= b:
        assert add_months(a, months) <= add_months(b, months)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
       st.integers(min_value=0, max_value=12 * 40))
def test_thresholds_are_exact(as_of: date, months: int) -> None:
    last = latest_start(as_of, months)
    assert add_months(last, months) <= as_of < add_months(last + timedelta(days=1), months)
    first = earliest_start(as_of, months)
    assert add_months(first - timedelta(days=1), months) < as_of <= add_months(first, months)


def test_docs_cover_every_parameter_and_ground() -> None:
    from muster.eligibility.rules import GROUNDS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "law.md").read_text(encoding="utf-8")
    missing = [f"`{name}`" for name in (*PARAMETERS, *GROUNDS) if f"`{name}`" not in doc]
    assert not missing, f"docs/law.md does not describe {missing}"

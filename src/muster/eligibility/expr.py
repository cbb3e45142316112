"""Conditions over a person's facts that compile to SQL and evaluate for one person.

A rule's condition is a small tree (``And``, ``Or``, ``Not`` over leaves such as
``OneOf("fitness_category", "conscription_fitness")``). Each node can

* ``sql(ctx)``: become a SQL boolean for the whole register (parameters and the
  as-of date are constants then, so dates compare with literals);
* ``test(facts, ctx)``: decide for one person, with SQL's three-valued logic (None
  where SQL would say NULL), so that the explanation agrees with the bulk run;
* ``describe(ctx)``: say itself in words, with the parameter values in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from muster.eligibility.dates import add_months, earliest_start, latest_start
from muster.eligibility.dialect import case_map, date_sql, fold, fold_sql, text_sql

Facts = Mapping[str, Any]
Truth = bool | None


@dataclass(frozen=True)
class Context:
    as_of: date
    values: Mapping[str, Any]  # every parameter's value in force on as_of
    dialect: str = "sqlite"

    def value(self, parameter: str) -> Any:
        return self.values[parameter]

    def date(self, day: date) -> str:
        return date_sql(day, self.dialect)


class Expr:
    def sql(self, ctx: Context) -> str:
        raise NotImplementedError

    def test(self, facts: Facts, ctx: Context) -> Truth:
        raise NotImplementedError

    def describe(self, ctx: Context | None = None) -> str:
        raise NotImplementedError

    def fields(self) -> tuple[str, ...]:
        return ()

    def parameters(self) -> tuple[str, ...]:
        return ()


def _shown(ctx: Context | None, parameter: str) -> str:
    if ctx is None:
        return parameter
    value = ctx.value(parameter)
    text = ", ".join(value) if isinstance(value, tuple) else str(value)
    return f"{text} ({parameter})"


@dataclass(frozen=True)
class _Leaf(Expr):
    field: str

    def fields(self) -> tuple[str, ...]:
        return (self.field,)


@dataclass(frozen=True)
class Missing(_Leaf):
    def sql(self, ctx: Context) -> str:
        return f"{self.field} IS NULL"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        return facts.get(self.field) is None

    def describe(self, ctx: Context | None = None) -> str:
        return f"no {self.field}"


@dataclass(frozen=True)
class Present(_Leaf):
    def sql(self, ctx: Context) -> str:
        return f"{self.field} IS NOT NULL"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        return facts.get(self.field) is not None

    def describe(self, ctx: Context | None = None) -> str:
        return f"{self.field} recorded"


@dataclass(frozen=True)
class OneOf(_Leaf):
    """The field's value is one of a parameter's codes (optionally ignoring case)."""

    parameter: str
    ignore_case: bool = False

    def parameters(self) -> tuple[str, ...]:
        return (self.parameter,)

    def _codes(self, ctx: Context) -> tuple[tuple[str, ...], dict[str, str]]:
        codes: tuple[str, ...] = ctx.value(self.parameter)
        if not self.ignore_case:
            return codes, {}
        mapping = case_map(codes)
        return tuple(fold(c, mapping) for c in codes), mapping

    def sql(self, ctx: Context) -> str:
        codes, mapping = self._codes(ctx)
        column = fold_sql(self.field, mapping, ctx.dialect) if self.ignore_case else self.field
        if not codes:  # NULL for a missing value, false otherwise: as in Python
            return f"{self.field} <> {self.field}"
        return f"{column} IN ({', '.join(text_sql(c) for c in codes)})"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        if value is None:
            return None
        codes, mapping = self._codes(ctx)
        return (fold(str(value), mapping) if self.ignore_case else str(value)) in codes

    def describe(self, ctx: Context | None = None) -> str:
        case = " (ignoring case)" if self.ignore_case else ""
        return f"{self.field} in {_shown(ctx, self.parameter)}{case}"


@dataclass(frozen=True)
class AtLeast(_Leaf):
    parameter: str

    def parameters(self) -> tuple[str, ...]:
        return (self.parameter,)

    def sql(self, ctx: Context) -> str:
        return f"{self.field} >= {int(ctx.value(self.parameter))}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        return None if value is None else int(value) >= int(ctx.value(self.parameter))

    def describe(self, ctx: Context | None = None) -> str:
        return f"{self.field} ≥ {_shown(ctx, self.parameter)}"


@dataclass(frozen=True)
class AgeAtLeast(Expr):
    """Age in whole years on the as-of date >= parameter (+ ``extra``)."""

    parameter: str
    extra: int = 0

    def fields(self) -> tuple[str, ...]:
        return ("birth_date",)

    def parameters(self) -> tuple[str, ...]:
        return (self.parameter,)

    def _years(self, ctx: Context) -> int:
        return int(ctx.value(self.parameter)) + self.extra

    def sql(self, ctx: Context) -> str:
        return f"birth_date <= {ctx.date(latest_start(ctx.as_of, 12 * self._years(ctx)))}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        birth = facts.get("birth_date")
        if birth is None:
            return None
        return add_months(birth, 12 * self._years(ctx)) <= ctx.as_of

    def describe(self, ctx: Context | None = None) -> str:
        op = "≥" if self.extra == 0 else ">"
        return f"age {op} {_shown(ctx, self.parameter)}"


def age_above(parameter: str) -> AgeAtLeast:
    """Age > parameter, i.e. age >= parameter + 1."""
    return AgeAtLeast(parameter, extra=1)


@dataclass(frozen=True)
class OnOrBeforeAsOf(_Leaf):
    def sql(self, ctx: Context) -> str:
        return f"{self.field} <= {ctx.date(ctx.as_of)}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        return None if value is None else value <= ctx.as_of

    def describe(self, ctx: Context | None = None) -> str:
        return f"{self.field} on or before the as-of date"


@dataclass(frozen=True)
class OnOrAfterAsOf(_Leaf):
    def sql(self, ctx: Context) -> str:
        return f"{self.field} >= {ctx.date(ctx.as_of)}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        return None if value is None else value >= ctx.as_of

    def describe(self, ctx: Context | None = None) -> str:
        return f"{self.field} on or after the as-of date"


@dataclass(frozen=True)
class WithinMonths(_Leaf):
    """The as-of date is at most ``field + parameter months``."""

    parameter: str

    def parameters(self) -> tuple[str, ...]:
        return (self.parameter,)

    def sql(self, ctx: Context) -> str:
        months = int(ctx.value(self.parameter))
        return f"{self.field} >= {ctx.date(earliest_start(ctx.as_of, months))}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        if value is None:
            return None
        return ctx.as_of <= add_months(value, int(ctx.value(self.parameter)))

    def describe(self, ctx: Context | None = None) -> str:
        return f"as-of date ≤ {self.field} + {_shown(ctx, self.parameter)} months"


@dataclass(frozen=True)
class OlderThanMonths(_Leaf):
    """``field`` is more than ``parameter`` months before the as-of date."""

    parameter: str

    def parameters(self) -> tuple[str, ...]:
        return (self.parameter,)

    def sql(self, ctx: Context) -> str:
        months = int(ctx.value(self.parameter))
        return f"{self.field} < {ctx.date(earliest_start(ctx.as_of, months))}"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        value = facts.get(self.field)
        if value is None:
            return None
        return add_months(value, int(ctx.value(self.parameter))) < ctx.as_of

    def describe(self, ctx: Context | None = None) -> str:
        return f"{self.field} more than {_shown(ctx, self.parameter)} months before the as-of date"


@dataclass(frozen=True)
class Flag(_Leaf):
    """A 0/1 fact the evaluation derives (e.g. an unsettled identity conflict)."""

    text: str = ""

    def sql(self, ctx: Context) -> str:
        return f"{self.field} = 1"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        return bool(facts.get(self.field))

    def describe(self, ctx: Context | None = None) -> str:
        return self.text or self.field


@dataclass(frozen=True)
class _Many(Expr):
    parts: tuple[Expr, ...]

    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for p in self.parts for f in p.fields()))

    def parameters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(q for p in self.parts for q in p.parameters()))


class And(_Many):
    def __init__(self, *parts: Expr) -> None:
        object.__setattr__(self, "parts", parts)

    def sql(self, ctx: Context) -> str:
        return "(" + " AND ".join(p.sql(ctx) for p in self.parts) + ")"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        results = [p.test(facts, ctx) for p in self.parts]
        if False in results:
            return False
        return None if None in results else True

    def describe(self, ctx: Context | None = None) -> str:
        return " and ".join(_wrapped(p, ctx) for p in self.parts)


class Or(_Many):
    def __init__(self, *parts: Expr) -> None:
        object.__setattr__(self, "parts", parts)

    def sql(self, ctx: Context) -> str:
        return "(" + " OR ".join(p.sql(ctx) for p in self.parts) + ")"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        results = [p.test(facts, ctx) for p in self.parts]
        if True in results:
            return True
        return None if None in results else False

    def describe(self, ctx: Context | None = None) -> str:
        return " or ".join(_wrapped(p, ctx) for p in self.parts)


@dataclass(frozen=True)
class Not(Expr):
    part: Expr

    def fields(self) -> tuple[str, ...]:
        return self.part.fields()

    def parameters(self) -> tuple[str, ...]:
        return self.part.parameters()

    def sql(self, ctx: Context) -> str:
        return f"(NOT {self.part.sql(ctx)})"

    def test(self, facts: Facts, ctx: Context) -> Truth:
        result = self.part.test(facts, ctx)
        return None if result is None else not result

    def describe(self, ctx: Context | None = None) -> str:
        return f"not ({self.part.describe(ctx)})"


def _wrapped(part: Expr, ctx: Context | None) -> str:
    text = part.describe(ctx)
    return f"({text})" if isinstance(part, _Many) else text

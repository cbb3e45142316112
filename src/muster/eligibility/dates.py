"""Calendar arithmetic of the law, one convention everywhere.

Adding months keeps the day of the month; a day the target month does not have
rolls to the first day of the month after it. So a 29 February birthday falls on
1 March in common years (issue 4), and 31 August + 6 months is 1 March. The
function is monotone (a later date never lands earlier), which lets every rule
turn "the date plus N months, compared with the as-of date" into a comparison of
the stored date with one constant: the bulk SQL needs no per-person arithmetic.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    if day.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day.day)
    return date(year + month // 12, month % 12 + 1, 1)


def age_on(birth: date, as_of: date) -> int:
    """Age in whole years on ``as_of``."""
    years = as_of.year - birth.year
    if add_months(birth, 12 * years) > as_of:
        years -= 1
    return years


def _rough_back(as_of: date, months: int) -> date:
    years, month0 = divmod(as_of.month - 1 - months, 12)
    year, month = as_of.year + years, month0 + 1
    return date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))


def latest_start(as_of: date, months: int) -> date:
    """The last date ``d`` with ``add_months(d, months) <= as_of``.

    ``age_on(b, as_of) >= n`` exactly when ``b <= latest_start(as_of, 12 * n)``.
    """
    d = _rough_back(as_of, months) + 4 * ONE_DAY
    while add_months(d, months) > as_of:
        d -= ONE_DAY
    return d


def earliest_start(as_of: date, months: int) -> date:
    """The first date ``d`` with ``add_months(d, months) >= as_of``."""
    d = _rough_back(as_of, months) - 4 * ONE_DAY
    while add_months(d, months) < as_of:
        d += ONE_DAY
    return d


# The dates the register decides on. The law's arithmetic (an age of 65, a deferment
# in months) must stay in the calendar; a year such as 0001 or 9999 is a typo.
EARLIEST_AS_OF, LATEST_AS_OF = date(1900, 1, 1), date(2199, 12, 31)


def parse_date(text: str) -> date:
    """A strict YYYY-MM-DD date the register decides on, or a MusterError that shows
    the value."""
    from muster.errors import MusterError

    hint = "Write a calendar date as YYYY-MM-DD, e.g. 2024-06-01."
    try:
        if len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise MusterError(f"{text!r} is not a date.", hint=hint) from None
    if not EARLIEST_AS_OF <= day <= LATEST_AS_OF:
        raise MusterError(f"{text} is outside the dates the register decides on "
                          f"({EARLIEST_AS_OF} to {LATEST_AS_OF}).", hint=hint)
    return day

"""Eligibility: the law in force on a date, applied to every person, explained.

The law is a file of the profile (law.py) whose parameters carry effective dates;
the rules that read them are small objects (rules.py over expr.py) that compile to
one set-based SQL statement for the whole register (evaluate.py) and decide for one
person in Python with the same logic (explain.py). diff.py compares two laws.
See docs/law.md.
"""

from muster.eligibility.dates import add_months, age_on, parse_date
from muster.eligibility.diff import LawDiff, diff_law
from muster.eligibility.evaluate import Evaluation, evaluate, export_eligibility
from muster.eligibility.explain import Explanation, explain_person
from muster.eligibility.law import PARAMETERS, Law, load_law, parse_law
from muster.eligibility.rules import ELIGIBLE, GROUNDS, RULES, STATUSES, Rule

__all__ = [
    "ELIGIBLE", "GROUNDS", "PARAMETERS", "RULES", "STATUSES", "Evaluation", "Explanation",
    "Law", "LawDiff", "Rule", "add_months", "age_on", "diff_law", "evaluate",
    "explain_person", "export_eligibility", "load_law", "parse_date", "parse_law",
]

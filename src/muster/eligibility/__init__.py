"""Eligibility: the law in force on a date, applied to every person, explained.

The law is a file of the profile (law.py) whose parameters carry effective dates;
the rules that read them are small objects (rules.py over expr.py) that compile to
one set-based SQL statement for the whole register (evaluate.py) and decide for one
person in Python with the same logic (explain.py). diff.py compares two laws.
Import from the modules: this package imports nothing, so that a module needing the
rules alone (casework's queues) does not load the evaluation and pandas with them.
See docs/law.md.
"""

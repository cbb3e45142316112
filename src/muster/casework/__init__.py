"""Casework: clarifications, citizen corrections, deferment claims and appeals.

    cases.py       the cases, their events (who, when, why) and queues
    generate.py    clarification requests for needs_clarification and golden conflicts
    verified.py    officer-verified values as the registration office's source records
    decide.py      opening citizen cases and recording decisions, with their effects
    reevaluate.py  resolution and eligibility again for the persons a decision touched
    review_queue.py  the open review pairs, those holding a call-up decision first

Import from the modules: this package imports nothing, so that reading a queue does
not load resolution and eligibility (1.2 s at each start of `muster review list`).
See docs/callup.md ("The life of a case").
"""

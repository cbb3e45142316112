"""Casework: clarifications, citizen corrections, deferment claims and appeals.

    cases.py       the cases, their events (who, when, why) and queues
    generate.py    clarification requests for needs_clarification and golden conflicts
    verified.py    officer-verified values as the registration office's source records
    decide.py      opening citizen cases and recording decisions, with their effects
    reevaluate.py  resolution and eligibility again for the persons a decision touched
    review_queue.py  the open review pairs, those holding a call-up decision first

See docs/callup.md ("The life of a case").
"""

from muster.casework.cases import (
    DEFERMENT_GROUNDS,
    KINDS,
    OUTCOMES,
    Case,
    count_cases,
    default_actor,
    export_cases,
    get_case,
    list_cases,
    open_case,
    parse_values,
    queue_counts,
)
from muster.casework.decide import (
    Decided,
    claim_deferment,
    decide_case,
    lodge_appeal,
    propose_correction,
)
from muster.casework.generate import Generated, generate_clarifications
from muster.casework.verified import VERIFIABLE, source_name

__all__ = [
    "DEFERMENT_GROUNDS", "KINDS", "OUTCOMES", "VERIFIABLE", "Case", "Decided", "Generated",
    "claim_deferment", "count_cases", "decide_case", "default_actor", "export_cases",
    "generate_clarifications", "get_case", "list_cases", "lodge_appeal", "open_case",
    "parse_values", "propose_correction", "queue_counts", "source_name",
]

"""The command line starts fast: `import muster.cli` loads none of the heavy libraries.

Every `muster` command (even `muster --help`) imports muster.cli first; FastAPI, Splink,
pandas or the synthetic vocabularies there would cost seconds at each start. Commands
import what they need when they run.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import typer

from muster.cli import app

HEAVY = ("fastapi", "splink", "pandas", "weasyprint", "pyspark", "muster.synth.vocab")


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    code = ("import muster.cli, sys; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"`import muster.cli` loads {out}: import them inside the command"


# What officers run many times a day reads the register and needs none of the
# pipelines: `muster person show` and `review list` took 1.1-1.25 s and 1.5 s on a
# small register while their modules loaded Splink, SciPy and pandas through package
# imports (0.85-1.05 s and 0.85-0.95 s without).
READERS = ("muster.resolve.queries", "muster.casework.review_queue",
           "muster.casework.cases", "muster.eligibility.explain")
PIPELINES = ("splink", "pandas", "scipy", "muster.resolve.pipeline",
             "muster.eligibility.evaluate")


def test_reading_the_register_loads_no_pipeline() -> None:
    for module in READERS:
        code = (f"import {module}, sys; "
                f"print(sorted(m for m in {PIPELINES!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out == "[]", f"`import {module}` loads {out}"


def _param_help(path: list[str], name: str) -> str:
    # Typer's own (vendored) click: its groups are known by their `commands`.
    command: Any = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]
    param = next(p for p in command.params if p.name == name)
    return str(getattr(param, "help", None) or "")


def test_help_texts_name_every_choice_the_library_accepts() -> None:
    # The help texts spell out choices defined in heavy modules (so that the command
    # line need not import them at start): they must follow those modules.
    from muster.callup import CATEGORIES
    from muster.casework.cases import DEFERMENT_GROUNDS, KINDS
    from muster.notices import STATUSES
    from muster.resolve.pipeline import ENGINES
    from muster.service.accounts import ROLES

    expected = {
        ("callup", "plan", "category"): CATEGORIES,
        ("casework", "queue", "kind"): KINDS,
        ("casework", "claim", "ground"): DEFERMENT_GROUNDS,
        ("resolve", "engine"): ENGINES,
        ("users", "add", "role"): ROLES,
        ("notices", "mark", "status"): STATUSES[1:],
    }
    for (*path, name), choices in expected.items():
        text = _param_help(path, name)
        missing = [c for c in choices if c not in text]
        assert not missing, f"muster {' '.join(path)} --{name} help lacks {missing}: {text!r}"


def test_help_lists_every_command_group() -> None:
    command: Any = typer.main.get_command(app)
    assert {"init", "status", "sources", "ingest", "quarantine", "resolve", "review", "person",
            "law", "eligibility", "callup", "casework", "notices", "export", "synth", "serve",
            "users", "audit", "db"} <= set(command.commands)

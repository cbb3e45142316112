"""The Typer application and the options every command shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Output to a pipe or a file is not wrapped at 80 columns: logs and scripts want whole lines.
_PIPE_WIDTH = 160
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
for _c in (console, err_console):
    if not _c.is_terminal:
        _c.width = _PIPE_WIDTH


@dataclass
class State:
    workspace: Path | None = None
    debug: bool = False


state = State()

app = typer.Typer(
    name="muster",
    help="muster: one accurate, explainable register record per citizen from agency extracts.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", help="Workspace folder (default: the current directory).",
            envvar="MUSTER_WORKSPACE",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state.workspace = workspace
    state.debug = debug

# Command groups shared by several stages.
sources_app = typer.Typer(help="Declare the agency extracts this register reads.",
                          no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows that could not be accepted, with their reasons.",
                             no_args_is_help=True)
export_app = typer.Typer(help="Write register data to CSV files (the public data contract).",
                         no_args_is_help=True)
db_app = typer.Typer(help="The register's database.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(export_app, name="export")
review_app = typer.Typer(help="Pairs of records an officer must decide on.", no_args_is_help=True)
person_app = typer.Typer(help="Persons of the register: show, explain, find.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(person_app, name="person")
app.add_typer(db_app, name="db")

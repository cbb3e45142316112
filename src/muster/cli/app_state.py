"""The Typer application and the options every command shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


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

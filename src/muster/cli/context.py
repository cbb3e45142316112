"""Shared plumbing for commands: the workspace, the store, progress display.

The store and the workspace are imported when a command asks for them, not when the
command line starts: `muster --help` should not load SQLAlchemy (tests/test_cli_startup.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from muster.cli.app_state import console, state
from muster.limits import MAX_ID

if TYPE_CHECKING:
    from muster.store import Store
    from muster.workspace import Workspace


def _writable_file(path: Path) -> Path:
    """Refuse, before any work, a file that could not be written: checked when the
    command line is read, not after an export of millions of rows. Its folder is made
    when absent."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; name a file in it, e.g. "
                                 f"{path / 'export.csv'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot make the folder {path.parent}: {exc.strerror}"
                                 ) from None
    return path


# Ids as the register numbers rows: a larger number is refused as the command line is
# read (it overflowed the databases' integers: "Unexpected error: OverflowError").
PlanId = Annotated[int, typer.Argument(help="A plan id (see `muster callup list`).",
                                       min=1, max=MAX_ID)]
CaseId = Annotated[int, typer.Argument(help="A case id.", min=1, max=MAX_ID)]
NoticeId = Annotated[int, typer.Argument(help="A notice id.", min=1, max=MAX_ID)]

OutCsv = Annotated[Path, typer.Option("--out", help="CSV file to write.",
                                      callback=_writable_file)]


def workspace() -> Workspace:
    from muster.workspace import open_workspace

    return open_workspace(state.workspace)


@contextmanager
def store_for(ws: Workspace) -> Iterator[Store]:
    from muster.store import open_store

    store = open_store(ws.database_url)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def steps(title: str) -> Iterator[Progress]:
    """A progress display for work made of named steps (hidden when not a terminal)."""
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )
    with progress:
        progress.add_task(title, total=None)
        yield progress


def set_step(progress: Progress, text: str) -> None:
    for task in progress.tasks:
        progress.update(task.id, description=text)

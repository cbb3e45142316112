"""`muster init`, `muster db upgrade`, `muster status`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from muster.cli.app_state import app, console, db_app
from muster.cli.context import store_for, workspace


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    profile: Annotated[
        str, typer.Option(help="Built-in profile name (default, latinia) or a profile folder.")
    ] = "default",
) -> None:
    """Create a workspace: muster.toml (profile, no sources yet) and its database.

    Example: muster init register && cd register
    """
    from muster.workspace import create_workspace

    ws = create_workspace(directory, profile)
    with store_for(ws) as store:
        revision = store.current_revision()
    console.print(f"Created workspace [bold]{ws.root}[/] (profile {profile!r}, "
                  f"schema {revision}, database {store.url.render_as_string(hide_password=True)}).")
    console.print("Next: muster sources add SOURCES.toml, then muster ingest SOURCE FILE.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations (commands also do this automatically).

    Example: MUSTER_DATABASE_URL=postgresql+psycopg://muster@db/muster muster db upgrade
    """
    from muster.store import open_store

    ws = workspace()
    store = open_store(ws.database_url, upgrade=False)
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if before == after:
        console.print(f"The database is up to date (revision {after}).")
    else:
        console.print(f"Upgraded the database from {before or 'empty'} to {after}.")


@app.command()
def status() -> None:
    """Sources, batches, records, flags and quarantine of this register.

    Example: muster status
    """
    from muster.ingest.report import source_statuses

    ws = workspace()
    with store_for(ws) as store:
        statuses = source_statuses(store)
    declared = sorted(ws.sources)
    table = Table(title=f"Register {ws.root.name} (profile {ws.profile().name})")
    for column in ("source", "batches", "last ingest", "records", "flagged", "quarantined",
                   "commonest field problems"):
        table.add_column(column, justify="right" if column in (
            "batches", "records", "flagged", "quarantined") else "left")
    seen = set()
    for s in statuses:
        seen.add(s.source)
        top = sorted(s.flags_by_problem.items(), key=lambda kv: -kv[1])[:3]
        table.add_row(s.source, str(s.batches), s.last_ingest, f"{s.records:,}",
                      f"{s.flagged_records:,}", f"{s.quarantined:,}",
                      ", ".join(f"{k} {v:,}" for k, v in top))
    for name in declared:
        if name not in seen:
            table.add_row(name, "0", "never", "0", "0", "0", "")
    console.print(table)
    if not declared:
        console.print("No sources declared yet: muster sources add SOURCES.toml")

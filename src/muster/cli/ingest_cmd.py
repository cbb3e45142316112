"""`muster sources`, `muster ingest`, `muster quarantine`, `muster export quarantine`."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from muster.cli.app_state import app, console, export_app, quarantine_app, sources_app
from muster.cli.context import OutCsv, set_step, steps, store_for, workspace
from muster.errors import ConfigError, MusterError

if TYPE_CHECKING:
    from muster.ingest import IngestReport, PreparedFile


@sources_app.command("add")
def sources_add(
    file: Annotated[Path, typer.Argument(help="A TOML file of [sources.NAME] declarations.")],
) -> None:
    """Validate source declarations and merge them into muster.toml.

    Every problem in the file is reported at once; nothing is merged unless all are valid.

    Example: muster sources add extracts/sources.toml
    """
    from muster.ingest import add_sources
    from muster.resolve.config import resolution_config

    ws = workspace()
    added, replaced = add_sources(ws.config, file)
    ws.save()
    for name in added:
        console.print(f"Added source [bold]{name}[/].")
    for name in replaced:
        console.print(f"Replaced the declaration of source [bold]{name}[/].")
    # A source the trust order leaves out loses every disagreement on those fields
    # (a clinic's "unfit" against the health ministry's "fit"): say so now.
    config = resolution_config(ws.profile())
    for name in (*added, *replaced):
        untrusted = config.untrusted_fields(name, ws.sources[name].get("fields", {}))
        if untrusted:
            console.print(
                f"[yellow]{name} is not in the profile's trust order for "
                f"{', '.join(untrusted)}[/]: where another source has a value of these, "
                "that one is chosen. List it in the profile's \\[resolution.trust] to "
                "change that (docs/resolution.md, Settings).", highlight=False)


@sources_app.command("list")
def sources_list() -> None:
    """The declared sources.

    Example: muster sources list
    """
    ws = workspace()
    table = Table("source", "agency", "format", "encoding", "record_id", "fields")
    for name, body in sorted(ws.sources.items()):
        table.add_row(name, body.get("agency", ""), body.get("format", ""),
                      body.get("encoding", "utf-8"), body.get("record_id", ""),
                      ", ".join(body.get("fields", {})))
    console.print(table)


def _print_report(report: IngestReport) -> None:
    if report.already_ingested:
        console.print(f"[bold]{report.source}[/] ← {report.file.name}: this file was already "
                      f"ingested as batch {report.batch_id}; nothing added.")
        return
    console.print(
        f"[bold]{report.source}[/] ← {report.file.name} (batch {report.batch_id}, "
        f"{report.seconds:.1f} s): read {report.rows_read:,} = accepted {report.accepted:,} "
        f"+ repeated {report.repeated:,} + quarantined {report.quarantined:,}; "
        f"accepted = new {report.new:,} + updated {report.updated:,} + unchanged "
        f"{report.unchanged:,}; flagged {report.flagged:,}.",
        highlight=False, soft_wrap=True,
    )
    if report.rows_read == 0:
        console.print("  [yellow]The file holds no rows[/] (a header only).")
    elif report.accepted == 0:  # often a wrong delimiter, encoding or record_id
        console.print(f"  [yellow]No row was accepted[/]: all {report.quarantined:,} went to "
                      "quarantine. See why with `muster quarantine list`.")
    elif report.new == 0 and report.updated == 0:
        console.print("  Nothing new: the register already held every accepted row.")


@app.command()
def ingest(
    source: Annotated[str | None, typer.Argument(help="The declared source's name.")] = None,
    file: Annotated[Path | None, typer.Argument(help="The extract file.")] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Ingest every declared source from its `file`.")
    ] = False,
) -> None:
    """Ingest an extract: normalise, validate, keep raw evidence, quarantine bad rows.

    The whole file is one transaction: interrupted, it leaves nothing behind, and a
    rerun completes. The same file twice adds nothing. Exit status 0 also when rows are
    quarantined (that is normal operation).

    Example: muster ingest voters extracts/voters.csv
    """
    from muster.ingest import check_file, declaration_for, prepare_file, write_prepared
    from muster.ingest.order import ingest_order
    from muster.store import checkpoints_in_background

    ws = workspace()
    profile = ws.profile()
    jobs: list[tuple[str, Path | None]]
    if all_sources:
        jobs = [(name, None) for name in ingest_order(ws.sources, ws.root)]
    elif source is None:
        raise ConfigError("Name a source to ingest, or pass --all.",
                          hint="Example: muster ingest voters extracts/voters.csv")
    else:
        jobs = [(source, file)]
    with store_for(ws) as store, checkpoints_in_background(store):

        # While one source is written (SQLite takes one writer at a time), the next one
        # is read and normalised in a second thread: DuckDB, Arrow and the ADBC drivers
        # release the GIL, so the two overlap on two cores. Only the check reads the
        # store, and it runs here, between writes (a SQLite reader meeting the writer
        # can find the database locked).
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="muster-prepare")

        ingested: list[str] = []

        def about(name: str, exc: MusterError) -> MusterError:
            """With --all, an error names its source and what was done before it."""
            if not all_sources:
                return exc
            before = f"Ingested before it: {', '.join(ingested)}. " if ingested else ""
            return type(exc)(f"Source {name!r}: {exc.message}", hint=(
                f"{exc.hint + ' ' if exc.hint else ''}{before}Once it is fixed, "
                "`muster ingest --all` again skips the files already ingested."))

        def submit(name: str, path: Path | None) -> Future[PreparedFile]:
            decl = declaration_for(ws.sources, name, ws.root)
            path = path or decl.file
            if path is None:
                raise ConfigError(f"No file given for source {name!r} and its declaration "
                                  "names none.", hint=f"muster ingest {name} FILE")
            return pool.submit(prepare_file, check_file(store, decl, path), profile)

        def prepare(i: int) -> Future[PreparedFile] | None:
            """The next file, under way; a problem with it is raised in its turn, after
            the files before it are written."""
            if i == len(jobs):
                return None
            try:
                return submit(*jobs[i])
            except MusterError as exc:
                failed: Future[PreparedFile] = Future()
                failed.set_exception(exc)
                return failed

        try:
            upcoming = prepare(0)
            for i, (name, _path) in enumerate(jobs):
                assert upcoming is not None
                with steps(f"{name}: reading and normalising") as progress:
                    try:
                        prepared = upcoming.result()
                    except MusterError as exc:
                        raise about(name, exc) from None
                    upcoming = prepare(i + 1)

                    def show(message: str, progress: Progress = progress, name: str = name) -> None:
                        set_step(progress, f"{name}: {message}")

                    try:
                        report = write_prepared(store, prepared, ws.archive_dir, progress=show)
                    except MusterError as exc:
                        raise about(name, exc) from None
                    del prepared
                _print_report(report)
                ingested.append(name)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[str | None, typer.Argument(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows.")] = 50,
) -> None:
    """Quarantined rows with file, line, record_id and reason.

    Example: muster quarantine list voters
    """
    from muster.ingest.report import quarantine_table

    ws = workspace()
    with store_for(ws) as store:
        rows = quarantine_table(store, source)
    table = Table("source", "file", "line", "record_id", "reason")
    for row in rows.slice(0, limit).to_pylist():
        table.add_row(row["source"], Path(row["file"]).name, str(row["line"]),
                      row["record_id"] or "", row["reason"])
    console.print(table)
    if rows.num_rows > limit:
        console.print(f"… {rows.num_rows - limit:,} more; muster export quarantine --out FILE.csv")
    elif rows.num_rows == 0:
        console.print("Nothing in quarantine.")


@export_app.command("quarantine")
def export_quarantine_cmd(
    out: OutCsv,
) -> None:
    """Write the quarantine as CSV: source,file,line,record_id,reason.

    Example: muster export quarantine --out quarantine.csv
    """
    from muster.ingest.report import export_quarantine

    ws = workspace()
    with store_for(ws) as store:
        n = export_quarantine(store, out)
    console.print(f"Wrote {n:,} quarantined rows to {out}.")

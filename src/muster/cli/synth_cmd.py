"""`muster synth`: write a synthetic population and the agency extracts made of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from muster.cli.app_state import app, console

if TYPE_CHECKING:
    from muster.synth import SynthResult

_STEP_LABELS = {"population": "population", "answers": "truth, defects, traps, manifest"}


HELP = (
    "Generate a synthetic population and seven noisy agency extracts of it.\n\n"
    "Writes population.parquet (the truth), the extracts (voters.csv, passports.parquet, "
    "health.jsonl, tax.csv, education.csv, civil.csv, military.tsv), sources.toml (their "
    "declarations), truth.csv (which accepted record is whose), defects.csv, traps.csv and "
    "manifest.json (every planted defect and look-alike pair, with counts).\n\n"
    "[bold]Example[/]: 100,000 people, then ingest one extract:\n\n"
    "    muster synth demo-data --persons 100000 --seed 7\n\n"
    "    muster sources add demo-data/sources.toml\n\n"
    "    muster ingest voters demo-data/voters.csv"
)


@app.command("synth", help=HELP)
def synth(
    outdir: Annotated[Path, typer.Argument(help="Folder to write into (created if needed).")],
    persons: Annotated[
        int, typer.Option("--persons", "-n", help="People in the population.")
    ] = 10_000,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            "-s",
            help="Random seed: the same seed, size and profile always give byte-identical files.",
        ),
    ] = 1,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Built-in profile name or profile folder.")
    ] = "default",
) -> None:
    from muster.profile import load_profile
    from muster.synth import STEPS, check_arguments, generate

    check_arguments(outdir, persons, seed)  # before the progress bar is drawn
    loaded = load_profile(profile, base=Path.cwd())
    with Progress(
        TextColumn("[bold]{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"{persons:,} persons", total=len(STEPS))

        def advance(step: str) -> None:
            label = _STEP_LABELS.get(step, f"{step} extract")
            progress.update(task, advance=1, description=f"done: {label}")

        result = generate(outdir, persons, seed, loaded, on_step=advance)
    console.print(build_summary_table(result))
    console.print(
        f"Declarations: [bold]{result.sources_toml}[/]  ·  answers: truth.csv, "
        f"defects.csv, traps.csv, manifest.json in {result.outdir}"
    )


def build_summary_table(result: SynthResult) -> Table:
    table = Table(
        title=f"Synthetic data: {result.persons:,} persons, seed {result.seed}, "
        f"profile {result.profile}"
    )
    table.add_column("source")
    table.add_column("file")
    table.add_column("rows written", justify="right")
    table.add_column("expected accepted", justify="right")
    for name, path in result.files.items():
        table.add_row(
            name, path.name, f"{result.rows_written[name]:,}", f"{result.expected_accepted[name]:,}"
        )
    table.add_row(
        "[bold]total",
        "",
        f"[bold]{result.total_rows:,}",
        f"[bold]{sum(result.expected_accepted.values()):,}",
    )
    return table

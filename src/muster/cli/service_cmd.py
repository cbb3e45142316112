"""`muster serve` and `muster audit verify|anchor|list`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from muster.cli.app_state import app, console
from muster.cli.context import set_step, steps, store_for, workspace

if TYPE_CHECKING:
    from muster.service.audit_verify import Verification

audit_app = typer.Typer(help="The tamper-evident log of every read and write of a person.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).", min=1,
                                      max=65535)] = 8000,
    secure_cookie: Annotated[bool, typer.Option(
        help="Mark the session cookie Secure (when served over HTTPS).")] = False,
    workers: Annotated[int, typer.Option(
        min=1, help="Worker processes; one per core serves the most requests.")] = 1,
    threads: Annotated[int | None, typer.Option(
        min=1, show_default=False, help="Requests each worker works on at once (threads, "
        "and as many database connections); default MUSTER_REQUEST_THREADS, else 2. Few "
        "serve a small machine best; a database across a network may keep more busy.")
    ] = None,
) -> None:
    """Serve the REST API (under /api/v1, schema at /docs) over this workspace's register.

    Session cookies are signed with MUSTER_SECRET_KEY, or with a key kept in the workspace's
    service.secret (made on first start).

    Example: muster serve --port 8000 --workers 2
    """
    import uvicorn

    from muster.service import create_app, service_secret
    from muster.service.asgi import SECURE_COOKIE_ENV, THREADS_ENV, WORKSPACE_ENV, request_threads

    threads = threads or request_threads()
    ws = workspace()
    with store_for(ws):
        pass  # bring the schema up to date (and fail now) before listening
    secret = service_secret(ws.root)  # made now, before any worker looks for it
    console.print(f"Serving the register at http://{host}:{port}/ (API docs: /docs)"
                  + (f" with {workers} worker processes" if workers > 1 else "")
                  + f", {threads} requests at a time" + (" each" if workers > 1 else ""))
    if workers == 1:
        application = create_app(ws, secret, cookie_secure=secure_cookie,
                                 request_threads=threads)
        uvicorn.run(application, host=host, port=port, log_level="info")
        return
    # Each worker process builds the app again, from the environment (muster.service.asgi).
    os.environ[WORKSPACE_ENV] = str(ws.root.resolve())
    os.environ[SECURE_COOKIE_ENV] = "1" if secure_cookie else "0"
    os.environ[THREADS_ENV] = str(threads)
    uvicorn.run("muster.service.asgi:app", factory=True, workers=workers, host=host,
                port=port, log_level="info")


@audit_app.command("verify")
def audit_verify(
    anchors: Annotated[list[Path] | None, typer.Option(
        "--anchors", metavar="FILE", help="An anchor file (from `muster audit anchor`) "
        "whose every line the log must still match; may be repeated.")] = None,
) -> None:
    """Check the audit log's hash chain: report every edited, deleted or moved entry,
    and with --anchors every anchored entry that was rewritten or cut away.

    Exits 1 when the log has been tampered with.

    Example: muster audit verify --anchors /mnt/worm/muster-anchors.txt
    """
    from muster.service import audit_anchors

    ws = workspace()
    with store_for(ws) as store, steps("walking the audit log") as progress:
        result = audit_anchors.verify(store, anchors or [],
                                      progress=lambda text: set_step(progress, text))
    if not result.ok:
        _tampered(result)
    held = (f", {result.anchors:,} anchor{'' if result.anchors == 1 else 's'} held"
            if anchors else "")
    console.print(f"The audit log is intact: {result.entries:,} entries, chain unbroken"
                  f"{held}; head {result.head_seq} {result.head_hash}.", highlight=False)


def _tampered(result: Verification) -> NoReturn:
    console.print(f"[bold red]The audit log has been tampered with[/] "
                  f"({result.entries:,} entries checked):")
    for problem in result.problems:
        console.print(f"  - {escape(problem)}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(
    file: Annotated[Path, typer.Argument(help="The anchor file: kept where the database's "
                                         "administrator cannot write.")],
) -> None:
    """Append the audit log's head to FILE (made if absent) as `<seq> <hash> <UTC time>`,
    once the chain and the anchors already in FILE verify.

    Exits 1, anchoring nothing, when they do not: anchoring a rewritten log would vouch
    for it. Check later with `muster audit verify --anchors FILE`.

    Example: muster audit anchor /mnt/worm/muster-anchors.txt
    """
    from muster.service import audit_anchors

    ws = workspace()
    with store_for(ws) as store:
        try:
            mark = audit_anchors.anchor(store, file)
        except audit_anchors.ChainBroken as exc:
            console.print(f"[bold red]Not anchored:[/] {escape(exc.message)}")
            _tampered(exc.result)
    console.print(f"Anchored in {escape(str(file))}: {mark.text()}", highlight=False)


@audit_app.command("list")
def audit_list(
    person: Annotated[str | None, typer.Option(help="Only entries about this person.")] = None,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 30,
) -> None:
    """The newest audit entries: who did what, about whom, why and when.

    Example: muster audit list --person P000000042
    """
    from muster.service import audit

    ws = workspace()
    with store_for(ws) as store:
        rows, total = audit.entries(store, person_id=person, limit=limit)
    table = Table("seq", "at", "actor", "role", "action", "person", "purpose")
    for e in rows:
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.role,
                      e.action, e.person_id or "", e.purpose or "")
    console.print(table)
    console.print(f"{len(rows)} of {total:,} entries.")

"""`muster users add|list|disable|token`: the service's accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from muster.cli.app_state import app, console
from muster.cli.context import store_for, workspace

users_app = typer.Typer(help="Accounts of the service: who may log in, with which role.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The login name (one word).")],
    role: Annotated[str, typer.Option(help="administrator | analyst | officer | citizen")],
    region: Annotated[list[str] | None, typer.Option(
        help="An officer's region code (repeat for several).")] = None,
    person: Annotated[str | None, typer.Option(help="A citizen's person id.")] = None,
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="At least 10 characters (asked for when not given).")] = "",
) -> None:
    """Add an account. Officers are bound to regions, citizens to their person.

    Example: muster users add olga --role officer --region TVE --region MOW
    """
    from muster.service.accounts import add_account

    ws = workspace()
    profile = ws.profile()
    with store_for(ws) as store:
        account = add_account(store, username, password, role, regions=region or (),
                              person_id=person, known_regions=profile.regions.codes)
    console.print(f"Added account [bold]{account.username}[/]: {account.label}.")


@users_app.command("list")
def users_list() -> None:
    """Every account, with its role, binding and whether it is disabled.

    Example: muster users list
    """
    from muster.service.accounts import list_accounts

    ws = workspace()
    with store_for(ws) as store:
        accounts = list_accounts(store)
    table = Table("username", "role", "regions", "person", "status", "created")
    for a in accounts:
        table.add_row(a.username, a.role, ", ".join(a.regions), a.person_id or "",
                      "disabled" if a.disabled else "active",
                      a.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
    console.print(f"{len(accounts)} accounts.")


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="The account to disable.")],
) -> None:
    """Disable an account: its password, sessions and API tokens stop working at once.

    Example: muster users disable olga
    """
    from muster.service.accounts import disable_account

    ws = workspace()
    with store_for(ws) as store:
        account = disable_account(store, username)
    console.print(f"Disabled account [bold]{account.username}[/] ({account.label}).")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="The account the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
) -> None:
    """Make an API token for a machine client (sent as `Authorization: Bearer ...`).

    The token is shown once; only its hash is kept.

    Example: muster users token olga --name nightly-export
    """
    from muster.service.accounts import create_token

    ws = workspace()
    with store_for(ws) as store:
        token = create_token(store, username, name)
    console.print(token, highlight=False, soft_wrap=True)


@users_app.command("demo")
def users_demo() -> None:
    """Create one account of each role for a demonstration and print their passwords.

    admin (administrator), analyst (central analyst), officer (bound to the region of
    the demo citizen) and citizen (a person who received a notice, when there is one).
    The passwords are new each time and printed in clear: for a demo register only.

    Example: muster users demo
    """
    from muster.service.accounts import ADMINISTRATOR, ANALYST, CITIZEN, OFFICER
    from muster.service.demo import create_demo_accounts

    ws = workspace()
    profile = ws.profile()
    with store_for(ws) as store:
        made = create_demo_accounts(store, profile.regions.codes)
    table = Table("role", "username", "password", "sees", title="Demo accounts")
    for demo in made.accounts:
        account = demo.account
        sees = {ADMINISTRATOR: "everything, and the whole audit log",
                ANALYST: "counts only, never a person",
                OFFICER: f"the persons of region {', '.join(account.regions)}",
                CITIZEN: f"only their own record, person {account.person_id}"}[account.role]
        table.add_row(account.role, account.username, demo.password, sees)
    table.columns[1].no_wrap = table.columns[2].no_wrap = True
    console.print(table)
    if not made.citizen_has_notice:
        console.print("The register has no notices yet: the citizen's portal shows none.")
    console.print("[bold yellow]Demo only:[/] these passwords are shown in clear; never use "
                  "them, or this command, for a real register.")

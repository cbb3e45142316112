"""A real browser (Playwright driving Debian's Chromium) against a live server: a
regional officer logs in, finds a person, opens the record for a purpose, asks for a
clarification and records the verified value; then that citizen logs in and sees, in
the portal, the officer's access and the changed value. A screenshot of each step is
kept in test-artifacts/browser/.

Chromium comes from Debian (scripts/system_deps.sh ensure browser; never `playwright install`:
the network is closed). Without it the test is skipped, unless
MUSTER_REQUIRE_BROWSER=1, when it fails.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from muster.service import create_app
from web_register import PASSWORD, RealRegister, build_real_register

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
NEW_ADDRESS = "Тверь, ул. Советская, 7"


def _require_browser() -> Any:
    """Playwright's sync API, or a skip (a failure under MUSTER_REQUIRE_BROWSER=1)."""
    problem = None
    try:
        from playwright import sync_api
    except ImportError:
        problem = "the Python package playwright is not installed (the [test] extra)"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (bash scripts/system_deps.sh ensure browser installs it)"
    if problem is not None:
        if os.environ.get("MUSTER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MUSTER_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    return sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RealRegister]]:
    """The service on a free loopback port, in a thread, over a small real register."""
    _require_browser()
    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'ws' / 'muster.db'}"
    with pytest.MonkeyPatch.context() as env:
        register = build_real_register(root, url, env)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(
            create_app(register.workspace, "browser-secret", database_url=url),
            host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", register
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            register.store.close()


def test_officer_clarifies_and_citizen_sees_it(live: tuple[str, RealRegister]) -> None:
    sync_api = _require_browser()
    base, register = live
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            step = iter(range(1, 100))

            def shot(name: str) -> None:
                page.screenshot(path=ARTIFACTS / f"{next(step):02d}-{name}.png",
                                full_page=True)

            def log_in(username: str) -> None:
                page.goto(f"{base}/login")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                shot(f"login-{username}")
                page.get_by_role("button", name="Log in").click()

            # The officer finds the person and opens the record for a purpose.
            log_in("officer")
            expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            shot("officer-dashboard")
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
            # The live search shows why a search cannot be made (htmx swaps the 422 in).
            page.get_by_label("Name").fill("%")
            expect(page.get_by_role("alert")).to_contain_text("has no letters to look for")
            page.get_by_label("Name").fill(register.family_name)
            page.get_by_role("button", name="Search", exact=True).click()
            row = page.get_by_role("row").filter(has_text=register.citizen)
            expect(row).to_be_visible()
            shot("search-results")
            row.get_by_label("Purpose").select_option("clarification")
            row.get_by_role("button", name="Open").click()
            expect(page.get_by_role("heading", name=f"Person {register.citizen}")
                   ).to_be_visible()
            shot("person-opened")

            # A clarification is requested, then the verified value recorded.
            request = page.locator("form").filter(has_text="Request clarification")
            request.get_by_label("Reason").fill("address to confirm in person")
            request.get_by_role("button", name="Request clarification").click()
            record = page.locator("form").filter(has_text="Record verified values")
            expect(record).to_be_visible()
            shot("clarification-open")
            record.get_by_label("Field").select_option("address")
            record.get_by_label("Value").fill(NEW_ADDRESS)
            record.get_by_label("Reason").fill("seen the registration stamp")
            record.get_by_role("button", name="Record").click()
            golden = page.locator("table.golden")
            expect(golden.get_by_role("row").filter(has_text="address")).to_contain_text(
                NEW_ADDRESS)
            expect(golden.get_by_role("row").filter(has_text="address")).to_contain_text(
                "registration_office")
            shot("value-recorded")
            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_label("Username")).to_be_visible()

            # The citizen sees the change and who looked at the record, and why.
            log_in("citizen")
            expect(page.get_by_role("heading", name="My record")).to_be_visible()
            expect(page.locator("table.golden")).to_contain_text(NEW_ADDRESS)
            accesses = page.locator("section").filter(
                has=page.get_by_role("heading", name="Who accessed your record"))
            expect(accesses.get_by_role("row").filter(has_text="officer").filter(
                has_text="clarification").first).to_be_visible()
            shot("citizen-portal")
        finally:
            browser.close()

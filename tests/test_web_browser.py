"""The workspace in headless Chromium: sign up, import a RIS file, screen by keyboard.

The first steps of the issue's end-to-end path (the rest comes with the study editor and runs);
Debian's chromium through Playwright, as the report's browser test; a screenshot of each page is
saved (the path is printed). Nothing may be requested from outside the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from neuroreview.pipeline.screening.plan import open_store
from neuroreview.store.server import ServerStore
from neuroreview.web.app import create_app
from test_report_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

RIS = "".join(
    f"TY  - JOUR\nDB  - Embase\nTI  - Ketamine study number {i}: infusion and fMRI of mood\n"
    f"AU  - Author{i}, A.\nPY  - {2010 + i}\nAB  - Abstract {i} about ketamine.\nER  -\n\n"
    for i in range(1, 7)
)


def sign_up(page, base: str, name: str) -> None:
    """Create an account on the sign-in page and land on the projects page."""
    page.goto(base + "/sign-in")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "correct horse battery")
    page.click("[data-action=sign-up]")
    page.wait_for_url(base + "/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):

    project = tmp_path / "ketamine.db"
    open_store(str(project), create=True).close()
    store = ServerStore(str(tmp_path / "server.db"))
    store.add_project("ketamine", "Ketamine fMRI", str(project))
    with serving(create_app(store)) as base:
        yield base, project
    store.close()


@contextlib.contextmanager
def serving(app):
    """``app`` served by uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=20)


def test_sign_up_import_and_screen_by_keyboard(server, tmp_path, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    base, project = server
    shots = tmp_path_factory.mktemp("web-screenshots")
    ris = tmp_path / "embase.ris"
    ris.write_text(RIS, encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(base + "/")
            assert page.url == base + "/sign-in"
            page.fill("input[name=username]", "ann")
            page.fill("input[name=password]", "correct horse battery")
            page.screenshot(path=str(shots / "sign-in.png"))
            page.click("[data-action=sign-up]")
            page.wait_for_url(base + "/")
            page.screenshot(path=str(shots / "projects.png"))
            page.click("text=Ketamine fMRI")
            page.wait_for_url(base + "/p/ketamine")
            page.set_input_files("input[type=file]", str(ris))
            page.click("#import button[type=submit]")
            page.wait_for_selector("text=6 record(s) await screening")
            page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
            page.click("text=6 record(s) await screening")
            page.wait_for_selector(".record .title:has-text('Ketamine study number')")
            for key, verdict in (("i", "include"), ("e", "exclude"), ("m", "maybe")):
                shown = page.locator(".record").get_attribute("data-id")
                page.keyboard.press(key)
                page.wait_for_selector(f".message:has-text('{shown}: {verdict}')")
            page.screenshot(path=str(shots / "screening.png"), full_page=True)
            progress = page.locator(".progress").inner_text()
        finally:
            context.close()
    print(f"web screenshots: {shots}")
    assert errors == []
    assert all(url.startswith(base) for url in requests), [
        u for u in requests if not u.startswith(base)
    ]
    assert progress.startswith("3 decided by you · 3 left")
    with open_store(str(project)) as repository:
        verdicts = sorted(
            (d.reviewer, d.verdict.value) for r in repository.list_records() for d in r.decisions
        )
    assert verdicts == [("ann", "exclude"), ("ann", "include"), ("ann", "maybe")]
    assert {p.name for p in shots.iterdir()} == {
        "sign-in.png",
        "projects.png",
        "dashboard.png",
        "screening.png",
    }

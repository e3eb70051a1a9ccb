"""The screening page's undo in headless Chromium: `u` (or the button) withdraws the last decision
made on the page and shows that record again, to be decided anew."""

from __future__ import annotations

import pytest

import test_web_browser
from neuroreview.pipeline.screening.plan import open_store
from test_report_browser import ARGS
from test_web_browser import CHROMIUM, RIS, sign_up

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

#: The uvicorn server with one empty project, shared with the workspace's browser test.
server = test_web_browser.server


def test_undo_by_key_and_button_shows_the_record_again(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    base, project = server
    ris = tmp_path / "embase.ris"
    ris.write_text(RIS, encoding="utf-8")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_up(page, base, "ann")
            page.goto(base + "/p/ketamine")
            page.set_input_files("input[type=file]", str(ris))
            page.click("#import button[type=submit]")
            page.wait_for_selector("text=6 record(s) await screening")
            page.click("text=6 record(s) await screening")
            page.wait_for_selector(".record .title:has-text('Ketamine study number')")
            page.keyboard.press("u")
            page.wait_for_selector(".message:has-text('nothing decided on this page to undo')")
            first = page.locator(".record").get_attribute("data-id")
            page.keyboard.press("i")
            page.wait_for_selector(f".message:has-text('{first}: include')")
            second = page.locator(".record").get_attribute("data-id")
            page.keyboard.press("e")
            page.wait_for_selector(f".message:has-text('{second}: exclude')")
            page.keyboard.press("u")
            page.wait_for_selector(f".message:has-text('{second}: undone')")
            assert page.locator(".record").get_attribute("data-id") == second
            page.wait_for_selector(".progress:has-text('1 decided by you · 5 left')")
            page.click("[data-action=undo]")
            page.wait_for_selector(f".message:has-text('{first}: undone')")
            assert page.locator(".record").get_attribute("data-id") == first
            page.keyboard.press("m")
            page.wait_for_selector(f".message:has-text('{first}: maybe')")
            progress = page.locator(".progress").inner_text()
        finally:
            context.close()
    assert errors == []
    assert progress.startswith("1 decided by you · 5 left")
    with open_store(str(project)) as repository:
        history = [
            (r.id, d.verdict.value, d.role.value)
            for r in repository.list_records()
            for d in r.decisions
        ]
    assert sorted(history) == sorted(
        [
            (first, "include", "review"),
            (first, "include", "withdrawal"),
            (first, "maybe", "review"),
            (second, "exclude", "review"),
            (second, "exclude", "withdrawal"),
        ]
    )

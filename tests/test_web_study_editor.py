"""The study editor in headless Chromium: where a focus lands, the glass brain following the
row in focus, a coordinate typed outside the brain flagged before saving, a bad value's message
next to its input, and a save that reaches the store. Nothing is requested from outside."""

from __future__ import annotations

import pytest

import test_web_browser
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.store import Repository
from test_report_browser import ARGS, CHROMIUM
from test_web_browser import sign_up

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

#: A uvicorn server with one empty project, 'ketamine' (the screening browser test's).
server = test_web_browser.server


def test_check_a_study_in_the_editor_and_save_it(server, tmp_path, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    base, project = server
    with Repository(str(project)) as repository:
        repository.add_studies([s for s in builtin_studies() if s.id == "abdallah2017"])
    shots = tmp_path_factory.mktemp("study-editor-screenshots")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            page = context.new_page()
            page.set_viewport_size({"width": 1500, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_up(page, base, "olga")
            page.goto(base + "/p/ketamine/studies")
            page.click("text=Abdallah 2017")
            page.wait_for_selector(".focus-row")
            row = '.focus-row[data-analysis="{}"][data-focus="{}"]'
            first = page.locator(row.format(0, 0) + " td.lands").inner_text()
            page.click(row.format(1, 0) + " td.number")
            glass = page.locator("img.glass-brain").get_attribute("src")
            caption = page.locator(".glass-caption").inner_text()
            page.screenshot(path=str(shots / "editor.png"))

            z = page.locator('[data-path="analyses.0.foci.1.z"]')
            z.fill("100")
            z.press("Tab")
            outside = row.format(0, 1) + " td.lands:has-text('outside the brain by 33.8 mm')"
            page.wait_for_selector(outside)
            flags = page.locator(".flag-list").inner_text()
            unsaved_glass = page.locator("img.glass-brain").get_attribute("src")

            x = page.locator('[data-path="analyses.0.foci.2.x"]')
            x.fill("12,5")
            page.click("[data-action=save]")
            page.wait_for_selector(".field-error")
            error = page.locator(row.format(0, 2) + " + tr.field-error").inner_text()
            page.screenshot(path=str(shots / "editor-error.png"))
            x.fill("12")
            page.click("[data-action=save]")
            page.wait_for_selector(".toolbar .message:has-text('Saved (change')")
        finally:
            context.close()
    print(f"study editor screenshots: {shots}")
    assert errors == []
    assert all(url.startswith(base) for url in requests), [
        u for u in requests if not u.startswith(base)
    ]
    assert first == "Frontal_Mid_2_L"
    assert (
        glass
        == "/api/projects/ketamine/studies/abdallah2017/glass.svg?analysis=saberi-decrease&focus=0"
    )
    assert caption == "saberi-decrease, focus 1: (16, -64, -26) MNI · AAL3: Cerebellum_6_R"
    assert flags == (
        "saberi-increase, focus 2 (-19, 29, 100 MNI): outside the brain mask beyond kernel "
        "reach, 33.8 mm from the brain (left out of the meta-analysis)"
    )
    # Unsaved values are drawn from the checked MNI points, the one in focus highlighted.
    assert unsaved_glass == (
        "/api/projects/ketamine/glass.svg?points=-32%2C50%2C20%3B-19%2C29%2C100%3B12%2C21%2C3"
        "%3B16%2C-64%2C-26%3B22%2C-70%2C-22&highlight=1"
    )
    assert error == "x: Input should be a valid number, unable to parse string as a number"
    with Repository(str(project)) as repository:
        foci = repository.get_study("abdallah2017").analyses[0].foci
    assert [(f.x, f.y, f.z) for f in foci] == [(-32, 50, 20), (-19, 29, 100), (12, 21, 3)]

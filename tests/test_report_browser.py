"""The report in a real browser: headless Chromium opens report.html from disk, every section
renders, every image loads, and nothing is fetched from anywhere but the file itself.

A report a researcher publishes must open on a plane, in ten years, behind a hospital firewall:
one request to a CDN would break that silently, so every request is recorded and any that leaves
file:// or data: fails the test. Uses Debian's chromium through Playwright (no browser download);
skips, saying why, only when chromium is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from report_data import synthetic_run

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECTIONS = [
    "summary",
    "cbma",
    "cbma-ale",
    "cbma-mkda",
    "contrasts",
    "regions",
    "decoding",
    "screening",
    "methods",
    "provenance",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Open the report once; yield the page facts the tests check."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    out = synthetic_run(tmp_path_factory)
    report = (out / "report.html").resolve()
    profile = tmp_path_factory.mktemp("chromium-profile")
    screenshot = tmp_path_factory.mktemp("report-screenshot") / "report.png"
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth, e.naturalHeight])"
            )
            visible = {
                section: page.locator(f"section#{section}").is_visible() for section in SECTIONS
            }
            headings = page.locator("h2").all_inner_texts()
            tables = page.locator("table").count()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    print(f"report screenshot: {screenshot}")
    return {
        "report": report,
        "requests": requests,
        "images": images,
        "visible": visible,
        "headings": headings,
        "tables": tables,
        "errors": errors,
        "screenshot": screenshot,
    }


def test_every_request_stays_on_disk(loaded):
    assert loaded["requests"], "the page load should have been recorded"
    assert loaded["requests"][0] == loaded["report"].as_uri()
    external = [u for u in loaded["requests"] if not u.startswith(("file://", "data:"))]
    assert external == []


def test_every_section_renders(loaded):
    assert loaded["visible"] == {section: True for section in SECTIONS}
    assert [h.split(". ", 1)[1] for h in loaded["headings"]] == [
        "Summary",
        "Coordinate meta-analysis",
        "Contrasts",
        "Region-level synthesis",
        "Functional interpretation",
        "Screening",
        "Methods",
        "Data provenance and licences",
    ]
    # The claims and questions tables, three corpus tables, two cluster tables, the ALE
    # contributions, the contrasts, four region tables, the decoding overview and seven
    # decodings (folded in <details>).
    assert loaded["tables"] == 21
    assert loaded["errors"] == []


def test_every_image_loads(loaded):
    # Glass brain and slices of ALE and MKDA, the region heatmap, the pooled forest plot and
    # the study-level forest of the one pooled region.
    alts = [alt for alt, *_ in loaded["images"]]
    assert alts == [
        "ALE glass brain",
        "ALE orthogonal slices",
        "MKDA density glass brain",
        "MKDA density orthogonal slices",
        "Heatmap of studies per region, direction and population",
        "Forest plot of pooled effect sizes per region",
        "Forest plot of Subgenual anterior cingulate cortex (glx)",
    ]
    for alt, complete, width, height in loaded["images"]:
        assert complete and width > 100 and height > 100, alt


def test_screenshot_is_saved(loaded):
    data = loaded["screenshot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000

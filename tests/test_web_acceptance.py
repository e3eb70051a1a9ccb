"""The issue's whole path in headless Chromium, three people on one server.

Olga (the owner) adds two reviewers and sets the screening plan; she imports a RIS file; Ann
and Bob each screen 20 records by keyboard, blind to each other; Olga resolves a conflict
between them, takes the record through full text, extracts its study in the editor (a focus
typed outside the brain is flagged, then fixed), runs the review (ALE among it) and opens the
report. A screenshot of each page is saved (the folder is printed). Nothing may be requested
from outside the server, and no page may raise a script error.
"""

from __future__ import annotations

import re

import pytest

from neuroreview.model import Space
from neuroreview.pipeline import extraction
from neuroreview.pipeline.corpus import builtin_studies
from neuroreview.pipeline.screening.plan import open_store
from neuroreview.store import Repository
from neuroreview.store.server import ServerStore
from neuroreview.web.app import create_app
from test_report_browser import ARGS, CHROMIUM
from test_web_browser import serving, sign_up

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
N_RECORDS = 22
RIS = "".join(
    f"TY  - JOUR\nDB  - Embase\nTI  - Ketamine study number {i}: infusion and fMRI of mood\n"
    f"AU  - Author{i}, A.\nPY  - {2000 + i}\nAB  - Abstract {i} about ketamine and the "
    f"subgenual cingulate.\nER  -\n\n"
    for i in range(1, N_RECORDS + 1)
)


@pytest.fixture
def server(tmp_path):
    """A server whose project holds the built-in corpus's studies of known space (so an ALE
    has experiments enough) and no records yet; its runs go to tmp."""

    project = tmp_path / "ketamine.db"
    known = [s for s in builtin_studies() if all(a.space is not Space.UNKNOWN for a in s.analyses)]
    with Repository(project) as repository:
        repository.add_studies(known)
    store = ServerStore(str(tmp_path / "server.db"))
    store.add_project("ketamine", "Ketamine fMRI", str(project))
    app = create_app(store, project_folder=tmp_path, runs_folder=tmp_path / "runs")
    with serving(app) as base:
        yield base, project
    store.close()


class Person:
    """One person's browser (own cookies), watching for script errors and outside requests."""

    def __init__(self, browser, base: str, name: str, shots, requests, errors) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.on("request", lambda request: requests.append(request.url))
        self.page.on("pageerror", lambda error: errors.append(f"{name}: {error}"))
        self.base, self.name, self.shots = base, name, shots

    def sign_up(self) -> None:
        sign_up(self.page, self.base, self.name)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def screen(self, n: int, verdict_of) -> list[tuple[int, str]]:
        """Decide ``n`` records by keyboard, ``verdict_of(number)`` giving i, e or m."""
        page, done = self.page, []
        page.goto(self.base + "/p/ketamine/screen?stage=screening")
        keys = {"i": "include", "e": "exclude", "m": "maybe"}
        for _ in range(n):
            page.wait_for_selector(".record[data-id] .title:has-text('Ketamine study number')")
            title = page.locator(".record .title").inner_text()
            number = int(re.search(r"number (\d+)", title).group(1))
            shown = page.locator(".record").get_attribute("data-id")
            key = verdict_of(number)
            page.keyboard.press(key)
            page.wait_for_selector(f".message:has-text('{shown}: {keys[key]}')")
            done.append((number, keys[key]))
        return done


def test_the_whole_review_in_the_browser(server, tmp_path, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    base, project = server
    shots = tmp_path_factory.mktemp("web-acceptance-screenshots")
    ris = tmp_path / "embase.ris"
    ris.write_text(RIS, encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            olga, ann, bob = (
                Person(browser, base, name, shots, requests, errors)
                for name in ("olga", "ann", "bob")
            )
            olga.sign_up()
            olga.shot("projects")
            ann.sign_up()
            bob.sign_up()

            # The owner builds the team and the plan: dual screening, one full-text reviewer.
            page = olga.page
            page.goto(base + "/p/ketamine")
            for name in ("ann", "bob"):
                page.fill("#add-member input[name=username]", name)
                page.select_option("#add-member select[name=role]", "reviewer")
                page.click("#add-member button[type=submit]")
                page.wait_for_selector(f"#members li:has-text('{name}')")
            page.select_option("#plan select[name=screening]", "2")
            page.select_option("#plan select[name=eligibility]", "1")
            page.click("#plan button[type=submit]")
            # (The default plan needs two at full text: the page reloads to say one.)
            page.wait_for_selector("text=Reviewers needed: screening 2, retrieval 1, eligibility 1")
            page.set_input_files("#import input[type=file]", str(ris))
            page.click("#import button[type=submit]")
            page.wait_for_selector(f"text={N_RECORDS} record(s) await screening")
            olga.shot("dashboard")

            # Two reviewers screen 20 records each, by keyboard, blind to each other.
            ann_done = ann.screen(20, lambda n: "i" if n % 2 == 0 else "e")
            ann.shot("screening-ann")
            bob_done = bob.screen(20, lambda n: "i" if n % 4 == 0 else "e")
            bob.shot("screening-bob")

            # Where they disagree, the owner resolves.
            page.goto(base + "/p/ketamine/conflicts")
            page.wait_for_selector("article.conflict")
            conflicts = page.locator("article.conflict").count()
            first = page.locator("article.conflict").first
            resolved_record = first.get_attribute("data-record")
            verdicts = first.locator(".verdicts").inner_text()
            olga.shot("conflicts")
            first.locator("[data-resolve=include]").click()
            first.locator(".message:has-text('resolved as include')").wait_for()

            # Full text: retrieved, then assessed and included; the study is made.
            # (Records both reviewers included wait there too: each shown one is taken on.)
            for stage in ("retrieval", "eligibility"):
                page.goto(base + f"/p/ketamine/screen?stage={stage}")
                for _ in range(N_RECORDS):
                    page.wait_for_selector(".record[data-id]")
                    shown = page.locator(".record").get_attribute("data-id")
                    page.keyboard.press("i")
                    page.wait_for_selector(f".message:has-text('{shown}: include')")
                    if shown == resolved_record:
                        break
            with open_store(str(project)) as repository:
                made = repository.record_studies()
            study_id = made[resolved_record]

            # Extraction: a focus typed outside the brain is flagged, then fixed and saved.
            page.goto(base + f"/p/ketamine/studies/{study_id}")
            page.wait_for_selector("[data-path=modality]")
            page.select_option("[data-path=modality]", "fmri_task")
            page.select_option("[data-path=population]", "mdd")
            page.fill("[data-path=n_subjects]", "24")
            page.click("[data-action=add-analysis]")
            page.wait_for_selector("[data-path='analyses.0.foci.0.x']")
            page.select_option("[data-path='analyses.0.direction']", "increase")
            page.fill("[data-path='analyses.0.n_subjects']", "24")
            for axis, value in zip("xyz", ("4", "24", "-8"), strict=True):
                page.fill(f"[data-path='analyses.0.foci.0.{axis}']", value)
            page.click("[data-action=add-focus]")
            page.wait_for_selector("[data-path='analyses.0.foci.1.x']")
            for axis, value in zip("xyz", ("6", "30", "95"), strict=True):
                page.fill(f"[data-path='analyses.0.foci.1.{axis}']", value)
            page.press("[data-path='analyses.0.foci.1.z']", "Tab")
            row = '.focus-row[data-analysis="0"][data-focus="1"] td.lands'
            page.wait_for_selector(f"{row}:has-text('outside the brain')")
            outside_warning = page.locator(row).inner_text()
            sgacc = page.locator(
                '.focus-row[data-analysis="0"][data-focus="0"] td.lands'
            ).inner_text()
            page.click("[data-action=save]")
            page.wait_for_selector(".toolbar .message:has-text('Saved (change')")
            olga.shot("study-editor-outside")
            page.fill("[data-path='analyses.0.foci.1.z']", "9.5")
            page.press("[data-path='analyses.0.foci.1.z']", "Tab")
            page.wait_for_selector(f"{row}:not(:has-text('outside'))")
            fixed_label = page.locator(row).inner_text()
            page.click("[data-action=save]")
            page.wait_for_selector(".toolbar .message:has-text('Saved (change')")
            olga.shot("study-editor-fixed")
            page.goto(base + "/p/ketamine/history")
            page.wait_for_selector("table.history")
            history = page.locator("table.history").inner_text()
            olga.shot("history")
            page.goto(base + "/p/ketamine/studies")
            page.wait_for_selector(f"a[href='/p/ketamine/studies/{study_id}']")
            olga.shot("studies")
            # Dual extraction (entered here through the pipeline; the editor's extraction
            # mode has its own browser test): Bob read one peak 2 mm off.
            with Repository(project) as repository:
                stored = repository.get_study(study_id)
            analysis = stored.analyses[0]
            moved = analysis.foci[1].model_copy(update={"y": analysis.foci[1].y + 2})
            bobs = stored.model_copy(
                update={
                    "analyses": [analysis.model_copy(update={"foci": [analysis.foci[0], moved]})]
                }
            )
            extraction.save_extraction(str(project), study_id, "ann", stored, submit=True)
            extraction.save_extraction(str(project), study_id, "bob", bobs, submit=True)
            page.goto(base + f"/p/ketamine/studies/{study_id}/compare")
            page.wait_for_selector("table.comparison tr.disagree")
            disagreements = page.locator("table.comparison tr.disagree").all_inner_texts()
            olga.shot("compare")

            # Run the review (ALE and MKDA) with live progress, then open its report.
            page.goto(base + "/p/ketamine/runs")
            olga.shot("runs")
            page.check("#start-run input[value=review]")
            page.fill("#start-run input[name=iterations]", "50")
            page.click("#start-run button[type=submit]")
            page.wait_for_url(re.compile(r".*/p/ketamine/runs/\d{8}-\d{6}-review$"))
            page.wait_for_selector("#run .stage:not(:empty)", timeout=60_000)
            olga.shot("run-progress")
            page.wait_for_selector("a.report-link", timeout=300_000)
            status = page.locator("#run .status").inner_text()
            olga.shot("run-done")
            with page.context.expect_page() as opened:
                page.click("a.report-link")
            report = opened.value
            report.wait_for_load_state()
            report_text = report.locator("body").inner_text()
            report.screenshot(path=str(shots / "report.png"))
        finally:
            browser.close()
    print(f"web acceptance screenshots: {shots}")
    assert errors == []
    assert all(url.startswith(base) for url in requests), [
        u for u in requests if not u.startswith(base)
    ]
    assert len(ann_done) == len(bob_done) == 20
    both = {n for n, _ in ann_done} & {n for n, _ in bob_done}
    expected_conflicts = {n for n in both if n % 2 == 0 and n % 4 != 0}
    assert conflicts == len(expected_conflicts) > 0
    assert re.fullmatch(r"ann: include\s*bob: exclude\s*|bob: exclude\s*ann: include\s*", verdicts)
    assert "no AAL3 label within 5 mm" in outside_warning
    assert "outside the brain by 28.7 mm" in outside_warning
    assert "outside the brain mask beyond kernel reach" in outside_warning
    assert sgacc.startswith("ACC_sub_R")  # the subgenual cingulate, as the authors would say
    assert fixed_label.startswith("ACC_sup_R") and "outside" not in fixed_label
    assert history.count(f"{study_id}") == 2 and "olga" in history
    assert len(disagreements) == 1 and disagreements[0].startswith("analyses.0.foci.1.y")
    assert status == "done"
    assert "ALE" in report_text
    with Repository(project) as repository:
        study = repository.get_study(study_id)
    assert study.record_id == resolved_record
    assert [(f.x, f.y, f.z) for f in study.analyses[0].foci] == [(4, 24, -8), (6, 30, 9.5)]
    assert {p.name for p in shots.iterdir()} >= {
        "projects.png",
        "dashboard.png",
        "screening-ann.png",
        "conflicts.png",
        "study-editor-fixed.png",
        "history.png",
        "studies.png",
        "compare.png",
        "runs.png",
        "run-done.png",
        "report.png",
    }

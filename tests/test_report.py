"""The report: its numbers are the files' numbers, its sentences follow the numbers, its methods
name the settings and references, it fetches nothing, and it is written whole or not at all.

Most tests read one synthetic run (tests/report_data.py) with clusters in both meta-analyses, a
pooled effect and exclusions; the sentence tests use hand-made contexts, so each case (no
cluster, two clusters, a consistent region) is checked with its exact wording.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroreview.cli.app import app
from neuroreview.io.run_files import RunFiles
from neuroreview.pipeline.report_inputs import decoding_overview, gather, report_folder
from neuroreview.pipeline.screening import write_screening
from neuroreview.report.build import PROVENANCE, REPORT
from neuroreview.report.context import Analysis, Context, Decoded, Table
from neuroreview.report.methods import REFERENCES, build_methods
from neuroreview.report.render import display
from neuroreview.report.sentences import (
    analysis_sentences,
    corpus_paragraph,
    decoding_sentences,
    headline,
    number,
    region_sentences,
)
from neuroreview.synthesis.breakdowns import corpus_facets
from neuroreview.synthesis.convergence import COLUMNS as CONVERGENCE_FILE_COLUMNS
from report_data import builtin_run, synthetic_run

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src" / "neuroreview"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return synthetic_run(tmp_path_factory)


# --- reading the HTML back -----------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table data-source>: its file, header and cells (data-value and shown text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and "data-source" in attributes:
            head = attributes.get("data-head")
            self.tables.append(
                {
                    "source": attributes["data-source"],
                    "columns": [],
                    "rows": [],
                    "head": int(head) if head else None,
                }
            )
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag == "th" and "data-column" in attributes:
            self.tables[-1]["columns"].append(attributes["data-column"])
        elif tag == "td" and self.tables:
            self._cell = [attributes["data-value"], ""]
            self.tables[-1]["rows"][-1].append(self._cell)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None


def html_tables(report: Path) -> list[dict]:
    parser = _Tables()
    parser.feed(report.read_text(encoding="utf-8"))
    for table in parser.tables:
        table["rows"] = [row for row in table["rows"] if row]  # the header row has no <td>
    return parser.tables


def assert_tables_equal_files(out: Path) -> int:
    """Each HTML table's cells equal its TSV's (columns the HTML shows); returns cells checked."""
    checked = 0
    tables = html_tables(out / REPORT)
    assert tables
    for table in tables:
        frame = pd.read_csv(out / table["source"], sep="\t", dtype=str, keep_default_na=False)
        assert set(table["columns"]) <= set(frame.columns), table["source"]
        expected = frame[table["columns"]].values.tolist()
        if table["head"] is not None:
            # a ranking shown by its first rows: those rows, in the file's order
            assert table["head"] == len(table["rows"]) < len(expected), table["source"]
            expected = expected[: table["head"]]
        values = [[value for value, _ in row] for row in table["rows"]]
        assert values == expected, table["source"]
        for row in table["rows"]:
            for value, shown in row:
                try:
                    number = float(value)
                except ValueError:
                    assert shown == value
                    continue
                # Shown to 4 significant digits at least.
                assert float(shown) == pytest.approx(number, rel=1e-3, abs=1e-12)
                checked += 1
    return checked


def test_numbers_in_the_report_equal_the_tsvs_beside_it(out):
    checked = assert_tables_equal_files(out)
    assert checked > 100
    sources = [t["source"] for t in html_tables(out / REPORT)]
    assert sources == [
        "regions/claims.tsv",
        "questions/questions.tsv",
        "studies_by_modality_population.tsv",
        "report/studies_by_timing_population.tsv",
        "report/studies_by_modality_population_timing.tsv",
        "ale/clusters.tsv",
        "ale/contributions.tsv",
        "mkda/clusters.tsv",
        "contrasts/contrasts.tsv",
        "report/votes_by_region_direction_population.tsv",
        "regions/votes.tsv",
        "regions/convergence.tsv",
        "report/exclusions_by_reason.tsv",
        "report/decoding_overview.tsv",
        "decode/map_ale.tsv",
        "decode/cluster_ale_1.tsv",
        "decode/map_mkda.tsv",
        "decode/cluster_mkda_1.tsv",
        "decode/region_pgacc.tsv",
        "decode/region_dmpfc.tsv",
        "decode/region_sgacc.tsv",
    ]


@pytest.mark.slow
def test_numbers_equal_the_tsvs_on_the_builtin_corpus(tmp_path_factory):
    builtin = builtin_run(tmp_path_factory)
    assert assert_tables_equal_files(builtin) > 100


def test_derived_tables_split_the_files_counts_exactly(out):
    votes = pd.read_csv(out / "regions" / "votes.tsv", sep="\t").set_index("region")
    split = pd.read_csv(out / "report" / "votes_by_region_direction_population.tsv", sep="\t")
    totals = split.groupby(["region", "direction"])["studies"].sum()
    for (region, direction), n in totals.items():
        assert votes.loc[region, direction] == n
    # pgACC: 11 coordinate studies, 5 healthy (odd ids) + 6 mdd (even ids) -> patients.
    pgacc = split[(split["region"] == "pgacc") & (split["direction"] == "increase")]
    assert dict(zip(pgacc["population"], pgacc["studies"], strict=True)) == {
        "healthy": 5,
        "patients": 6,
    }
    timing = pd.read_csv(out / "report" / "studies_by_timing_population.tsv", sep="\t")
    assert timing.set_index("timing").loc["total", "total"] == 14
    assert timing.set_index("timing").loc["during", "healthy"] == 6
    exclusions = pd.read_csv(out / "report" / "exclusions_by_reason.tsv", sep="\t")
    assert exclusions.values.tolist() == [
        ["vote", "unknown direction", 1],
        ["vote", "unmapped region", 1],
    ]


def test_display_rounds_long_decimals_only():
    assert display("0.0009765625") == "0.0009766"
    assert display("36.78431372549019") == "36.78"
    assert display("0.375") == "0.375"
    assert display("6120") == "6120"
    assert display("ACC_pre_L") == "ACC_pre_L"
    assert display("") == ""


# --- self-contained ------------------------------------------------------------------------


def test_the_report_references_nothing_outside_itself(out):
    html = (out / REPORT).read_text(encoding="utf-8")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert external == []
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 7 and all(s.startswith("data:image/png;base64,") for s in images)


def test_figures_are_written_beside_the_report_as_png_and_svg(out):
    names = ["ale_glass_brain", "ale_slices", "mkda_glass_brain", "mkda_slices"]
    names += ["regions_heatmap", "effects_forest", "forest_sgacc_glx"]
    for name in names:
        assert (out / "report" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert b"<svg" in (out / "report" / f"{name}.svg").read_bytes()[:2000]


def test_study_forest_pools_the_effects_file_to_the_convergence_g(out):
    """Rebuilt from a folder, the per-region forest pools regions/effects.tsv again (in the
    pipeline, not the report); its diamond is convergence.tsv's g."""
    from neuroreview.synthesis.effects import pool_effects

    effects = pd.read_csv(out / "regions" / "effects.tsv", sep="\t")
    assert effects.columns.tolist() == ["region", "measure", "study_id", "g", "variance"]
    sgacc = effects[(effects["region"] == "sgacc") & (effects["measure"] == "glx")]
    assert len(sgacc) == 2
    pooled = pool_effects(list(sgacc[["study_id", "g", "variance"]].itertuples(index=False)))
    convergence = pd.read_csv(out / "regions" / "convergence.tsv", sep="\t")
    row = convergence[(convergence["region"] == "sgacc") & (convergence["measure"] == "glx")]
    assert pooled.estimate == pytest.approx(float(row["g"].iloc[0]), rel=1e-9)
    html = (out / REPORT).read_text(encoding="utf-8")
    assert f"(diamond, REML; g = {number(pooled.estimate)})" in html
    context = gather(RunFiles(out))
    assert list(context.pooled_effects) == [("sgacc", "glx")]
    assert context.pooled_effects["sgacc", "glx"] == pooled


def test_the_report_draws_the_pools_it_is_given_and_computes_none(out, tmp_path, monkeypatch):
    from dataclasses import replace

    import neuroreview.synthesis.convergence as convergence
    import neuroreview.synthesis.effects as effects
    from neuroreview.report.build import build_report

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    context = gather(RunFiles(copy))
    given = replace(context.pooled_effects["sgacc", "glx"], estimate=0.777)

    def no_pooling(*args, **kwargs):
        raise AssertionError("the report pooled effects")

    monkeypatch.setattr(effects, "pool_effects", no_pooling)
    monkeypatch.setattr(convergence, "pool_effects", no_pooling)
    monkeypatch.setattr("neuroreview.report.figures.brain_figures", lambda *a: [])
    build_report(replace(context, pooled_effects={("sgacc", "glx"): given}))
    html = (copy / REPORT).read_text(encoding="utf-8")
    assert "(diamond, REML; g = 0.777)" in html
    build_report(replace(context, pooled_effects={}))
    assert "forest_sgacc_glx" not in (copy / REPORT).read_text(encoding="utf-8")


def test_every_registered_section_is_one_module_and_one_template():
    from neuroreview.report.sections import ORDER, registered

    sections = registered()
    assert [s.key for s in sections] == list(ORDER)
    assert len({s.title for s in sections}) == len(sections)
    templates = SRC / "report" / "templates" / "sections"
    assert sorted(p.stem.removesuffix(".html") for p in templates.glob("*.j2")) == sorted(ORDER)
    for section in sections:
        text = (templates / f"{section.key}.html.j2").read_text(encoding="utf-8")
        assert f'<section id="{section.key}">' in text
        assert "<h2>{{ shown.number }}. {{ shown.title }}</h2>" in text


def test_sections_without_content_are_left_out_and_the_rest_renumbered(monkeypatch):
    from neuroreview.report import sections

    made = [
        sections.Section("first", "First", lambda context, canvas: {"n": 1}),
        sections.Section("empty", "Empty", lambda context, canvas: None),
        sections.Section("last", "Last", lambda context, canvas: {"n": 3}),
    ]
    monkeypatch.setattr(sections, "registered", lambda: made)
    shown = sections.lay_out(None, sections.Canvas(Path("."), "report"))  # type: ignore[arg-type]
    assert [(s.key, s.number, s.values) for s in shown] == [
        ("first", 1, {"n": 1}),
        ("last", 2, {"n": 3}),
    ]
    assert shown[1].template == "sections/last.html.j2"


def test_the_contents_list_every_section_shown_in_page_order(out):
    html = (out / REPORT).read_text(encoding="utf-8")
    nav = re.findall(r'<li><a href="#([a-z]+)">', html)
    headings = re.findall(r'<section id="([a-z]+)">\s*<h2>(\d+)\. ', html)
    assert nav == [key for key, _ in headings]
    assert [int(number) for _, number in headings] == list(range(1, len(headings) + 1))
    assert nav == [
        "summary",
        "cbma",
        "contrasts",
        "regions",
        "decoding",
        "screening",
        "methods",
        "provenance",
    ]


# --- sections ------------------------------------------------------------------------------


def test_summary_says_what_survived_and_how_thin_it_is(out):
    html = (out / REPORT).read_text(encoding="utf-8")
    assert (
        "1 ALE cluster survived cluster-level FWE (p &lt; 0.05; 11 experiments, 55 foci; 1 with "
        "an imputed sample size (N = 24.5)): ACC_pre_L at (-2, 44, 2)"
    ) in html
    assert (
        "Imputing N = 20 and N = 30 instead (the smallest and largest reported sample sizes) "
        "leaves the same clusters: the imputation does not decide the result."
    ) in html
    assert "With 11 experiments, fewer than the 17-20 recommended" in html
    assert "Pregenual anterior cingulate cortex (increase; 11 studies: 11 increase" in html
    assert "Subgenual anterior cingulate cortex (glx): g = -0.5 [-1, 0.0061], k = 2" in html


def test_screening_sentence_and_the_run_s_decoding(out):
    html = (out / REPORT).read_text(encoding="utf-8")
    assert "The corpus was not screened in neuroreview, so there is no PRISMA 2020" in html
    # The run's ALE writes each experiment's contribution to each cluster, and the report shows it.
    assert 'id="table-contributions-ale" data-source="ale/contributions.tsv"' in html
    # The run decoded its maps, surviving clusters and converging regions (decode/index.tsv).
    assert '<section id="decoding">' in html and "<h2>6. Screening</h2>" in html
    headings = re.findall(r'<details class="decoded">\s*<summary><h3>([^<]+)</h3>', html)
    assert headings == [
        "ALE z map",
        "ALE cluster 1",
        "MKDA density z map",
        "MKDA density cluster 1",
        "Pregenual anterior cingulate cortex",
        "Dorsomedial prefrontal cortex",
        "Subgenual anterior cingulate cortex",
    ]
    assert "Top 5 of 50 Neurosynth topics for Dorsomedial prefrontal cortex" in html
    # The headline names each target's best functional topic, skipping anatomy and methods.
    index = pd.read_csv(out / "decode" / "index.tsv", sep="\t", dtype=str, keep_default_na=False)
    dmpfc = index.set_index("target").loc["Dorsomedial prefrontal cortex"]
    assert dmpfc["top_topic"] == "8_mpfc_social_medial"
    table = pd.read_csv(out / dmpfc["file"], sep="\t", dtype=str, keep_default_na=False)
    z = table.loc[0, "z_association"]
    assert (
        "The topic most over-represented among the Neurosynth studies that report each surviving "
        "cluster or converging region (reverse inference, not a drug effect): "
    ) in html
    assert (
        f"Dorsomedial prefrontal cortex: &#39;{table.loc[0, 'label']}&#39; (z = {number(z)})"
        in html
    )


def test_no_decoding_section_without_decodings(out, tmp_path, monkeypatch):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    monkeypatch.setattr("neuroreview.report.figures.brain_figures", lambda *a: [])
    shutil.rmtree(copy / "decode")
    report_folder(copy)
    html = (copy / REPORT).read_text(encoding="utf-8")
    assert 'id="decoding"' not in html and "Functional decoding against" not in html
    assert "<h2>5. Screening</h2>" in html


def screened_store(path):
    """A store with four screened PubMed records: one excluded at title/abstract, one at full
    text, one included (and made a study), one awaiting a second reviewer."""
    from neuroreview.model import Decision, Record
    from neuroreview.pipeline.screening import study_from_record
    from neuroreview.store import Repository

    def both(stage, verdict, reason=None):
        return [
            Decision(stage=stage, verdict=verdict, reviewer=r, reason=reason) for r in ("a", "b")
        ]

    included = Record(
        id="1.2",
        source="PubMed",
        location="pubmed.nbib:9",
        title="Ketamine and the sgACC",
        authors=["Ketamine, K"],
        year=2019,
        decisions=both("screening", "include") + both("eligibility", "include"),
    )
    records = [
        Record(
            id="1.1", source="PubMed", title="Cardiology", decisions=both("screening", "exclude")
        ),
        included,
        Record(
            id="1.3",
            source="PubMed",
            title="Ketamine in rats",
            decisions=both("screening", "include") + both("eligibility", "exclude", "not ketamine"),
        ),
        Record(
            id="1.4", source="PubMed", title="Pending", decisions=both("screening", "include")[:1]
        ),
    ]
    with Repository(path) as repository:
        repository.add_records(records)
        repository.add_study(study_from_record(included, []))


def test_optional_sections_appear_when_their_inputs_exist(out, tmp_path, monkeypatch):
    """Decoding (passed in) and PRISMA (screening/, from a screened store) are shown exactly
    when given."""
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    # Brain figures are tested elsewhere; skipping them keeps this test fast.
    monkeypatch.setattr("neuroreview.report.figures.brain_figures", lambda *a: [])
    screened_store(tmp_path / "screened.db")
    write_screening(RunFiles(copy), str(tmp_path / "screened.db"))
    terms = pd.DataFrame({"term": ["reward", "emotion"], "z": [4.51234567, 3.2]})
    decoded = Decoded.from_frame("ALE cluster 1", terms, note="Neurosynth terms")
    report_folder(copy, decoding=[decoded])
    html = (copy / REPORT).read_text(encoding="utf-8")
    assert '<section id="decoding">' in html and "<h2>5. Functional interpretation</h2>" in html
    assert "<h2>6. Screening</h2>" in html
    assert (copy / "report" / "decoding" / "cluster_ale_cluster_1.tsv").read_text() == (
        "term\tz\nreward\t4.51235\nemotion\t3.2\n"
    )
    assert 'aria-label="PRISMA 2020 flow diagram"' in html
    boxes = dict(re.findall(r'<g data-box="([^"]+)">(.*?)</g>', html, re.S))
    assert "Records screened (n = 4)" in boxes["databases.screened"]
    assert "awaiting a decision (n = 1)" in boxes["databases.screened"]
    assert "Records excluded (n = 1)" in boxes["databases.screened.out"]
    assert "not ketamine (n = 1)" in boxes["databases.assessed.out"]
    assert "Studies included in review (n = 1)" in boxes["included"]
    trace = re.search(r'<table id="screening-trace".*?</table>', html, re.S).group(0)
    assert "pubmed.nbib:9" in trace and "ketamine2019" in trace
    assert "title/abstract screening by 2 independent reviewers" in html
    assert "Page MJ, McKenzie JE" in html
    assert 'data-source="ale/contributions.tsv"' in html
    assert_tables_equal_files(copy)


def test_methods_name_the_settings_and_give_full_references(out):
    methods = build_methods(gather(RunFiles(out)))
    text = " ".join(body for _, body in methods.paragraphs)
    assert "100 such null datasets were generated (seed 0)" in text
    assert "sphere of radius 10 mm" in text
    assert "FWHM 8.97-9.24 mm" in text
    assert (
        "1 experiment(s) reported no sample size; ALE gave them N = 24.5, the median of the 10 "
        "reported sample sizes (reported sample sizes range from 20 to 30). Repeated with N = 20 "
        "and N = 30 (the smallest and largest reported sample sizes), the surviving clusters "
        "were the same."
    ) in text
    assert "two-sided exact sign test" in text and "REML" in text
    assert "Experiments: One experiment per subject group and direction (Turkeltaub" in text
    assert "Contains information from Neurosynth" in text
    settings = dict(methods.settings)
    assert settings["Monte Carlo iterations"] == "100" and settings["seed"] == "0"
    assert settings["ALE: cluster-forming threshold"] == "p < 0.001"
    assert settings["MKDA density: kernel"] == "sphere, radius 10 mm"
    for key in (
        "Eickhoff et al., 2009",
        "Eickhoff et al., 2012",
        "Turkeltaub et al., 2012",
        "Wager et al., 2007",
        "Lancaster et al., 2007",
        "Yarkoni et al., 2011",
    ):
        assert REFERENCES[key] in methods.references, key
    assert any("Human Brain Mapping 30(9):2907-2926" in r for r in methods.references)
    assert methods.references == sorted(methods.references)


def test_provenance_hashes_every_input_and_output(out):
    document = json.loads((out / PROVENANCE).read_text())
    sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    assert document["report_sha256"] == sha(out / REPORT)
    inputs = {entry["path"]: entry["sha256"] for entry in document["inputs"]}
    for path in (
        "ale/z.nii.gz",
        "mkda/clusters.tsv",
        "regions/convergence.tsv",
        "corpus/studies.tsv",
        "studies_by_modality_population.tsv",
    ):
        assert inputs[path] == sha(out / path), path
    outputs = {entry["path"] for entry in document["outputs"]}
    assert {"report/regions_heatmap.svg", "report/ale_glass_brain.png"} <= outputs
    assert document["parameters"]["run"]["iterations"] == 100
    assert document["parameters"]["mkda"]["estimator"]["r_mm"] == 10.0
    assert document["versions"]["report"]["nilearn"]
    assert "ODbL" in document["attribution"]


# --- sentences on hand-made contexts ----------------------------------------------------------

CLUSTER_COLUMNS = [
    "cluster_id",
    "peak_id",
    "subpeak",
    "x",
    "y",
    "z",
    "peak_stat",
    "stat",
    "p_corrected",
    "size_voxels",
    "size_mm3",
    "label",
]


def _analysis(peaks: list[list[str]], n_experiments: int = 12, without: int = 0) -> Analysis:
    step = {
        "n_experiments": n_experiments,
        "n_foci": 173,
        "alpha": 0.05,
        "n_clusters": len(peaks),
        "n_experiments_without_sample_size": without,
        "folder": "ale",
    }
    return Analysis(
        "ale", "ALE", "run", "", step, {}, Table("ale/clusters.tsv", CLUSTER_COLUMNS, peaks)
    )


def _context(convergence_rows: list[dict[str, str]]) -> Context:
    columns = list(CONVERGENCE_FILE_COLUMNS)
    rows = [[row.get(c, "") for c in columns] for row in convergence_rows]
    empty = Table("x.tsv", ["a"], [])
    summary = {
        "n_studies": 20,
        "analyses_by_direction": {"unknown": 19, "increase": 1},
        "settings": {"exposures": ["single_dose"]},
        "steps": {
            "select": {
                "n_reviewed_studies": 18,
                "n_coordinate_studies": 7,
                "n_experiments": 12,
                "n_foci": 173,
                "n_left_out": 13,
                "left_out_by_reason": {"no coordinates": 13},
            },
            "regions": {"clusters_from": None},
        },
    }
    return Context(
        out=Path("."),
        summary=summary,
        crosstab=empty,
        analyses=[_analysis([], without=8)],
        votes=empty,
        convergence=Table("regions/convergence.tsv", columns, rows),
        exclusions=empty,
        studies=[{"study_id": "s1", "drug": "ketamine"}],
        timing=empty,
        facets=empty,
        votes_by_population=empty,
        exclusion_counts=empty,
        decoding_overview=empty,
    )


def test_no_cluster_sentence_says_how_thin_the_evidence_is():
    sentences = analysis_sentences(_analysis([], n_experiments=4, without=8))
    assert sentences == [
        "No ALE cluster survived cluster-level FWE (p < 0.05; 12 experiments, 4 with sample "
        "sizes; 173 foci).",
        "With 4 experiments, fewer than the 17-20 recommended (Eickhoff et al., 2016), the ALE "
        "analysis has little power and a single experiment can drive a cluster: treat its "
        "result as preliminary.",
    ]


def test_two_cluster_sentence_names_each_peak():
    peaks = [
        [
            "1",
            "1",
            "False",
            "2",
            "2",
            "42",
            "3.23632",
            "3",
            "0.014",
            "515",
            "4120",
            "Cingulate_Mid_R",
        ],
        ["1", "2", "True", "6", "10", "40", "3.1", "2", "", "", "", "Cingulate_Mid_R"],
        ["2", "3", "False", "2", "38", "-20", "3.5", "3", "0.002", "600", "4800", ""],
    ]
    sentences = analysis_sentences(_analysis(peaks, n_experiments=20))
    assert sentences == [
        "2 ALE clusters survived cluster-level FWE (p < 0.05; 20 experiments, 173 foci): "
        "Cingulate_Mid_R at (2, 2, 42) (4,120 mm³, peak z = 3.24, FWE p = 0.014) and no AAL3 "
        "label at (2, 38, -20) (4,800 mm³, peak z = 3.5, FWE p = 0.002)."
    ]


def test_skipped_analysis_says_why():
    skipped = Analysis(
        "ale", "ALE", "skipped", "1 experiment(s) to meta-analyse, at least 2 are needed"
    )
    assert analysis_sentences(skipped) == [
        "The ALE meta-analysis was not run: 1 experiment(s) to meta-analyse, at least 2 are needed."
    ]


def test_region_sentences_consistent_and_not():
    consistent = _context(
        [
            {
                "region": "sgacc",
                "name": "sgACC",
                "increase": "0",
                "decrease": "9",
                "no_change": "1",
                "n_studies": "10",
                "p_sign": "0.00390625",
                "q_bh": "0.0078125",
            },
            {
                "region": "amygdala",
                "name": "Amygdala",
                "increase": "1",
                "decrease": "1",
                "no_change": "0",
                "n_studies": "2",
                "p_sign": "1.0",
                "q_bh": "1.0",
            },
        ]
    )
    assert region_sentences(consistent) == [
        "1 of 2 regions with directional votes shows a consistent direction after "
        "Benjamini-Hochberg correction: sgACC "
        "(decrease; 10 studies: 0 increase, 9 decrease, 1 no change; sign test p = 0.00391, "
        "BH q = 0.00781).",
        "The most-reported regions are sgACC (10 studies: 0 increase, 9 decrease, 1 no change) "
        "and Amygdala (2 studies: 1 increase, 1 decrease).",
        "1 of the 2 regions with votes rests on fewer than 3 studies, too few for a sign test to "
        "reach significance whatever the direction.",
    ]
    weak = _context(
        [
            {
                "region": "hippocampus",
                "name": "Hippocampus",
                "increase": "4",
                "decrease": "1",
                "no_change": "0",
                "n_studies": "5",
                "p_sign": "0.375",
                "q_bh": "1.0",
            },
        ]
    )
    assert region_sentences(weak)[0] == (
        "No region's votes lean one way beyond chance after Benjamini-Hochberg correction across "
        "1 region with directional votes; the smallest is Hippocampus (sign test p = 0.375, "
        "BH q = 1)."
    )
    sentences = headline(weak)
    assert sentences[0].startswith("The corpus holds 20 studies; 18 match the question's")
    assert "19 of 20 coordinate analyses in the corpus record no direction" in sentences[3]
    assert sentences[-2] == (
        "The region votes were not compared with coordinate clusters: no ALE analysis ran."
    )
    assert sentences[-1].startswith("No region has effect sizes to pool")


# --- CLI, atomic writing, architecture ------------------------------------------------------------


def test_report_command_rebuilds_the_same_report(out, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / REPORT).unlink()
    result = runner.invoke(app, ["report", str(copy)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"report written to {copy / REPORT}" in result.output
    # Same files, same settings: the same bytes (no dates, deterministic figures).
    assert (copy / REPORT).read_bytes() == (out / REPORT).read_bytes()


def test_run_records_the_report_step(out):
    summary = json.loads((out / "summary.json").read_text())
    step = summary["steps"]["report"]
    assert step["status"] == "run" and step["file"] == REPORT and step["seconds"] > 0
    assert list(summary["steps"])[-1] == "report"
    assert summary["timings_s"]["report"] == step["seconds"]


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("summary.json", "summary.json: not found; give a folder written by `neuroreview run`"),
        ("regions/convergence.tsv", "convergence.tsv: not found"),
        ("mkda/z.nii.gz", "z.nii.gz: not found"),
    ],
)
def test_a_missing_file_is_named_with_exit_code_2(out, tmp_path, remove, message):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / remove).unlink()
    result = runner.invoke(app, ["report", str(copy)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert message in result.output and str(copy) in result.output
    assert "Traceback" not in result.output


def test_a_missing_folder_is_an_error(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "nothing")], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "nothing: no such folder; run `neuroreview run` first" in result.output


EFFECTS_HEADER = "region\tmeasure\tstudy_id\tg\tvariance\n"


@pytest.mark.parametrize(
    ("relative", "text", "message"),
    [
        ("decode/index.tsv", "kind\ttarget\nmap\tX\n", ": lacks the column(s) file, note"),
        ("regions/exclusions.tsv", "evidence\nvote\n", ": lacks the column(s) reason"),
        ("ale/clusters.tsv", "cluster_id\tx\n", ": lacks the column(s) subpeak, y, z, label"),
        (
            "regions/effects.tsv",
            EFFECTS_HEADER + "sgacc\tglx\ts1\tbig\t0.1\nsgacc\tglx\ts2\t0.2\t0.1\n",
            ":2: g 'big' and variance '0.1' must be numbers",
        ),
        (
            "regions/effects.tsv",
            EFFECTS_HEADER + "sgacc\tglx\ts1\t0.5\t0\nsgacc\tglx\ts2\t0.2\t0.1\n",
            ": study 's1': the variance of g must be positive",
        ),
    ],
)
def test_a_table_the_report_cannot_read_is_refused_by_name(out, tmp_path, relative, text, message):
    """Missing columns, or effects that cannot be pooled again: one line naming the file (and
    line or study), and the earlier report stays."""
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / REPORT).read_bytes()
    (copy / relative).write_text(text)
    result = runner.invoke(app, ["report", str(copy)])
    assert result.exit_code == 2
    assert f"error: {copy / relative}{message}" in " ".join(result.output.split())
    assert (copy / REPORT).read_bytes() == before


def test_a_failed_build_leaves_the_previous_report_whole(out, tmp_path, monkeypatch):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / REPORT).read_bytes()
    monkeypatch.setattr("neuroreview.report.figures.brain_figures", lambda *a: [])

    def fail(variables):
        raise RuntimeError("disk full while rendering")

    monkeypatch.setattr("neuroreview.report.build.render", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        report_folder(copy)
    assert (copy / REPORT).read_bytes() == before
    assert [p.name for p in copy.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_import_stays_light_and_the_core_does_not_import_the_report():
    code = (
        "import sys, neuroreview.cli; "
        "print(sorted(m for m in ('neuroreview.report.build', 'jinja2', 'nilearn.plotting') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    for package in ("space", "cbma", "synthesis", "decode"):
        for path in (SRC / package).rglob("*.py"):
            assert "neuroreview.report" not in path.read_text(encoding="utf-8"), path


def test_template_ships_as_package_data():
    import glob
    import tomllib

    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["neuroreview"]
    # Setuptools expands package-data globs recursively, relative to the package.
    shipped = {f for g in globs for f in glob.glob(g, root_dir=SRC, recursive=True)}
    templates = {
        p.relative_to(SRC).as_posix() for p in (SRC / "report" / "templates").rglob("*.j2")
    }
    assert {
        "report/templates/report.html.j2",
        "report/templates/sections/cbma.html.j2",
    } <= templates
    assert templates <= shipped


@pytest.mark.slow
def test_builtin_run_decodes_its_converging_regions(tmp_path_factory):
    """On the ketamine corpus the converging regions decode to what they are known to do."""
    index = pd.read_csv(
        builtin_run(tmp_path_factory) / "decode" / "index.tsv",
        sep="\t",
        dtype=str,
        keep_default_na=False,
    ).set_index("target")
    assert index.loc["Hippocampus", "top_topic"] == "33_memory_retrieval_encoding"
    assert index.loc["Amygdala", "top_topic"] == "26_emotional_amygdala_negative"
    assert index.loc["Caudate", "top_topic"] == "7_reward_feedback_striatum"
    assert index.loc["Hippocampus", "note"] == "converging region (activity decrease)"
    assert index.loc["Amygdala", "note"] == (
        "converging region (activity decrease; connectivity decrease)"
    )
    assert index.loc["Caudate", "note"] == "converging region (activity increase)"
    assert (index["kind"] == "map").sum() == 2


def test_a_map_without_surviving_clusters_is_not_decoded_in_the_headline():
    import dataclasses

    correlations = Table(
        "decode/map_ale.tsv",
        ["rank", "topic", "label", "kind", "r"],
        [["1", "0_rest", "rest", "function", "0.2"]],
    )
    peak = ["1", "1", "False", "2", "2", "42", "3.1", "0.02", "0.01", "10", "80", "x"]
    decoding = [Decoded("ALE z map", correlations, "map")]
    empty = dataclasses.replace(_context([]), analyses=[_analysis([])], decoding=decoding)
    assert decoding_sentences(empty) == []
    found = dataclasses.replace(empty, analyses=[_analysis([peak])])
    assert decoding_sentences(found) == [
        "Functional decoding against the 50 Neurosynth topics (section 4): the ALE z map most "
        "resembles 'rest' (r = 0.2)."
    ]


def test_corpus_paragraph_says_what_the_corpus_rests_on():
    import dataclasses

    context = _context([])
    sources = {
        "n_studies": 4,
        "n_by_source": {"neurosynth": 1, "full-text table": 0, "abstract": 3},
        "n_abstract_only": 3,
        "share_abstract_only": 0.75,
        "unsourced": [],
        "about": "Not the review's own list.",
    }
    summary = {**context.summary, "corpus_sources": sources}
    assert corpus_paragraph(dataclasses.replace(context, summary=summary)) == (
        "Not the review's own list. Of its 4 studies, 1 on Neurosynth (peaks extracted "
        "automatically from the papers' tables) and 3 on the abstract page (a study can rest on "
        "several); 3 (75%) rest on their abstracts alone, which seldom give effect sizes and "
        "often no direction for secondary results."
    )
    assert corpus_paragraph(context) == ""


@pytest.mark.slow
def test_builtin_report_says_what_its_corpus_is(tmp_path_factory):
    html = (builtin_run(tmp_path_factory) / REPORT).read_text(encoding="utf-8")
    assert "It is not the list of 47 studies Ionescu et al. (2018) reviewed" in html
    assert "30 (59%) rest on their abstracts alone" in html
    assert 'id="table-claims"' in html and 'id="table-questions"' in html
    assert (
        "depressed patients (MDD, TRD, bipolar depression) after treatment: increase too few"
        in (html)
    )


def test_decoding_overview_keeps_the_best_functional_topics():
    ranked = Table(
        "decode/region_x.tsv",
        ["rank", "topic", "label", "kind", "z_association"],
        [
            ["1", "3_cortex", "cingulate (anatomy)", "anatomy", "12.5"],
            ["2", "7_reward", "reward", "function", "9.1"],
            ["3", "5_fmri", "fMRI methods", "method", "8"],
            ["4", "26_emotion", "emotion", "function", "4.25"],
        ],
    )
    correlations = Table(
        "decode/map_ale.tsv",
        ["rank", "topic", "label", "kind", "r"],
        [["1", "0_rest", "rest", "function", "0.2"]],
    )
    overview = decoding_overview(
        [
            Decoded("Region X", ranked, "region"),
            Decoded("ALE z map", correlations, "map"),
            Decoded("Network Y", None, "region", "not decoded: no AAL3 mask"),
        ]
    )
    assert overview.path == "report/decoding_overview.tsv"
    assert overview.rows == [
        ["Region X", "region", "z_association", "reward", "9.1", "emotion", "4.25", "", ""],
        ["ALE z map", "map", "r", "rest", "0.2", "", "", "", ""],
    ]


def test_corpus_facets_count_every_combination_in_vocabulary_order():
    studies = [
        {"modality": "fmri_rest", "population": "mdd", "timing": "days"},
        {"modality": "fmri_task", "population": "healthy", "timing": "during"},
        {"modality": "fmri_rest", "population": "mdd", "timing": "days"},
        {"modality": "fmri_task", "population": "healthy", "timing": "before"},
        {"modality": "pet", "population": "", "timing": "unknown"},
    ]
    table = corpus_facets(studies, "report/studies_by_modality_population_timing.tsv")
    assert table.path == "report/studies_by_modality_population_timing.tsv"
    assert table.columns == ["modality", "population", "timing", "studies"]
    assert table.rows == [
        ["fmri_task", "healthy", "before", "1"],
        ["fmri_task", "healthy", "during", "1"],
        ["fmri_rest", "mdd", "days", "2"],
        ["pet", "unknown", "unknown", "1"],
    ]


def test_words_are_marked_for_left_alignment_and_numbers_are_not():
    from neuroreview.report.render import is_text

    assert [is_text(c) for c in ("reward", "ACC_pre_L", "0.25", "-3", "1e-05", "", "nan")] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]


def test_text_cells_carry_the_text_class(out):
    html = (out / REPORT).read_text(encoding="utf-8")
    assert '<td data-value="ACC_pre_L" class="text">' in html
    assert re.search(r'<td data-value="-4">-4</td>', html)

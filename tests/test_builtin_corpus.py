"""The built-in ketamine corpus: it loads, validates, is complete and rebuilds byte for byte."""

from __future__ import annotations

import csv
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from neuroreview.io.builtin import builtin_corpus_dir, load_builtin_corpus
from neuroreview.model import Direction
from neuroreview.synthesis.regions import load_vocabulary

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("studies.tsv", "foci.tsv", "region_findings.tsv")
EXCLUSIONS = Path("exclusions") / "exclusions.tsv"


@pytest.fixture(scope="module")
def corpus():
    studies = load_builtin_corpus()
    assert studies is not None, "the built-in corpus is not shipped"
    return studies


@pytest.fixture(scope="module")
def exclusions() -> list[dict[str, str]]:
    folder = builtin_corpus_dir()
    assert folder is not None
    with (folder / EXCLUSIONS).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _tool():
    spec = importlib.util.spec_from_file_location(
        "build_ketamine_corpus", ROOT / "tools" / "build_ketamine_corpus.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts(corpus, exclusions):
    analyses = [a for s in corpus for a in s.analyses]
    assert len(corpus) == 51
    assert len({s.id for s in corpus}) == 51
    assert len(analyses) == 29
    assert sum(len(a.foci) for a in analyses) == 280
    assert sum(len(s.region_findings) for s in corpus) == 147
    assert len(exclusions) == 131
    assert sum(a.direction is not Direction.UNKNOWN for a in analyses) == 13
    assert sum(bool(a.n_subjects or s.n_subjects) for s in corpus for a in s.analyses) == 19
    kinds = Counter(f.kind.value for s in corpus for f in s.region_findings)
    assert kinds == {
        "drug_effect": 103,
        "correlation": 20,
        "group_difference": 11,
        "baseline_predictor": 9,
        "other": 4,
    }


def test_timing_and_exposure_counts_match_readme(corpus):
    timings = Counter(s.timing.value for s in corpus)
    assert timings == {
        "during": 14,
        "just_after": 2,
        "hours": 4,
        "days": 6,
        "before": 4,
        "unknown": 21,
    }
    exposures = Counter(s.exposure.value for s in corpus)
    assert exposures == {"single_dose": 45, "chronic_use": 4, "unknown": 2}
    readme = " ".join((builtin_corpus_dir() / "README.md").read_text(encoding="utf-8").split())
    assert "Timing: 14 during, 2 just after, 4 hours, 6 days after the dose, 4 `before`" in readme
    assert "21 unknown" in readme
    assert "Exposure: 45 single dose" in readme


def test_known_direction_share_matches_readme(corpus):
    analyses = [a for s in corpus for a in s.analyses]
    known = [a for a in analyses if a.direction is not Direction.UNKNOWN]
    assert (len(known), len(analyses)) == (13, 29)
    share = round(100 * len(known) / len(analyses))
    assert share == 45
    readme = (builtin_corpus_dir() / "README.md").read_text(encoding="utf-8")
    line = f"Coordinate analyses with a known direction: {len(known)} of {len(analyses)} ({share}%)"
    assert line in readme
    for analysis in known:
        # a known direction names the page or data set that states it
        notes = analysis.notes or ""
        assert "Saberi et al. 2025" in notes or '"' in notes, analysis.id


def test_every_study_has_population_modality_timing_and_provenance(corpus):
    fields = (
        "population",
        "modality",
        "timing",
        "exposure",
        "n_subjects",
        "design",
        "dose",
        "route",
    )
    for study in corpus:
        for field in ("population", "modality", "timing", "exposure"):
            assert getattr(study, field) is not None
        for field in fields:
            # every value, known or explicitly unknown, says where it came from or what would settle it
            assert study.provenance.get(field), f"{study.id}: no provenance for {field}"
            if getattr(study, field) in (None, "unknown"):
                assert study.provenance[field].startswith("unknown: "), (study.id, field)


def test_unknown_space_and_directions_explained(corpus):
    for study in corpus:
        for analysis in study.analyses:
            if analysis.space.value not in ("MNI", "TAL"):
                # Kraguljac 2017's abstract gives two peaks without naming the space
                assert (study.id, analysis.id) == ("kraguljac2017", "kraguljac2017-fc-decrease")
            if analysis.direction is Direction.UNKNOWN and analysis.id.startswith("ns-"):
                assert "would settle" in (analysis.notes or "") or "Direction unknown" in (
                    analysis.notes or ""
                ), analysis.id


def test_region_findings_use_canonical_ids_or_are_listed(corpus):
    vocabulary = load_vocabulary().regions
    unmapped = set()
    for study in corpus:
        for finding in study.region_findings:
            assert finding.region_raw
            if finding.region not in vocabulary:
                assert finding.region == finding.region_raw
                unmapped.add(finding.region_raw)
    assert unmapped == {
        "fronto-temporal",
        "insulo-temporal network",
        "mid-posterior cingulate",
        "precentral network",
        "subcortical",
        "temporoparietal",
    }
    readme = (builtin_corpus_dir() / "README.md").read_text(encoding="utf-8")
    for name in unmapped:
        assert name in readme


def test_every_raw_focus_is_in_the_corpus_or_excluded(corpus, exclusions, shared_data):
    raw_path = shared_data / "ketamine" / "neurosynth_ketamine_foci.tsv"
    if not raw_path.is_file():
        pytest.skip(f"{raw_path} is absent")
    with raw_path.open(encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle, delimiter="\t"))
    assert len(raw) == 328
    kept = {
        (s.pmid, a.id.removeprefix("ns-"), f.x, f.y, f.z)
        for s in corpus
        for a in s.analyses
        if a.id.startswith("ns-")
        for f in a.foci
    }
    kept = {(pmid, table.split("-")[0], x, y, z) for pmid, table, x, y, z in kept}
    excluded = {
        (e["source_id"], e["table_id"], e["peak_id"]): e["reason"]
        for e in exclusions
        if e["source"] == "neurosynth"
    }
    # The coordinate check removes repeats of a peak the corpus keeps once.
    repeated = {
        (float(e["x"]), float(e["y"]), float(e["z"]))
        for e in exclusions
        if e["source"] == "coordinate check" and "duplicate" in e["reason"]
    }
    for row in raw:
        key = (row["id"], row["table_id"], float(row["x"]), float(row["y"]), float(row["z"]))
        reason = excluded.get((row["id"], row["table_id"], row["peak_id"]))
        if key[2:] in repeated and row["id"] == "23009959":
            continue
        assert (key in kept) != bool(reason), (
            f"focus {row['peak_id']} is kept and excluded, or lost"
        )
    assert len(excluded) == 56


def test_build_is_deterministic(tmp_path, shared_data):
    if not (shared_data / "ketamine").is_dir():
        pytest.skip("raw ketamine files are absent")
    tool = _tool()
    shipped = builtin_corpus_dir()
    for run in ("a", "b"):
        tool.build(tmp_path / run, shared_data)
    for name in (*TABLES, EXCLUSIONS):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes(), name
        assert first == (shipped / name).read_bytes(), f"{name} is stale: rerun the tool"


def test_analysis_src_reaches_notes_and_is_required(tmp_path, shared_data):
    if not (shared_data / "ketamine").is_dir():
        pytest.skip("raw ketamine files are absent")
    import shutil

    import yaml

    tool = _tool()
    curation = tmp_path / "studies"
    shutil.copytree(ROOT / "curation" / "ketamine" / "studies", curation)
    path = curation / "liao2011.yaml"
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry["analyses"][15082] = {
        "direction": "decrease",
        "contrast": "users < controls",
        "kind": "group_difference",
    }
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")
    with pytest.raises(SystemExit, match="no quote"):
        tool.build(tmp_path / "a", shared_data, curation)
    entry["analyses"][15082]["src"] = "https://example.org/table2"
    entry["analyses"][15082]["quote"] = "Table 2. Users < controls"
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")
    studies = tool.build(tmp_path / "b", shared_data, curation)
    (analysis,) = [a for s in studies for a in s.analyses if a.id == "ns-15082"]
    assert analysis.direction is Direction.DECREASE
    assert analysis.kind.value == "group_difference"
    assert 'Contrast read on: https://example.org/table2 ("Table 2. Users < controls").' in (
        analysis.notes
    )
    del entry["analyses"][15082]["kind"]
    path.write_text(yaml.safe_dump(entry), encoding="utf-8")
    with pytest.raises(SystemExit, match="has no kind"):
        tool.build(tmp_path / "c", shared_data, curation)

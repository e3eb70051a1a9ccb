"""What counts as evidence: finding kinds, the authors' region name, one subject group as one
experiment, coordinates checked before use, and each curation lead's outcome by study id."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from neuroreview.cbma.ale import ALE
from neuroreview.cbma.checks import FlagReason, check_coordinates
from neuroreview.cbma.experiments import ExperimentUnit, build_experiments
from neuroreview.cbma.mkda import MKDADensity
from neuroreview.io.builtin import load_builtin_corpus
from neuroreview.io.nimare_json import to_nimare_dataset_dict
from neuroreview.model import (
    Analysis,
    Direction,
    FindingKind,
    Focus,
    Measure,
    MeasureFamily,
    RegionFinding,
    Study,
)
from neuroreview.synthesis.regions import canonical_region
from neuroreview.synthesis.votes import ExclusionReason, count_votes


@pytest.fixture(scope="module")
def corpus() -> dict[str, Study]:
    return {s.id: s for s in load_builtin_corpus()}


def no_atlas(_xyz):
    return None


# --- finding kinds -----------------------------------------------------------------------


def test_a_correlation_never_votes_and_is_listed_with_its_kind():
    corpus = [
        Study(
            id="lally",
            region_findings=[
                RegionFinding(region="dACC", direction="increase", kind="correlation"),
                RegionFinding(region="hippocampus", direction="increase", kind="drug_effect"),
            ],
        )
    ]
    votes = count_votes(corpus, region_of_focus=no_atlas)
    assert list(votes.table["region"]) == ["hippocampus"]
    (excluded,) = votes.excluded(ExclusionReason.NOT_DRUG_EFFECT)
    assert (excluded.study_id, excluded.region, excluded.detail) == ("lally", "dacc", "correlation")
    # asked for explicitly, correlations vote too
    both = count_votes(corpus, region_of_focus=no_atlas, kinds=["drug_effect", "correlation"])
    assert sorted(both.table["region"]) == ["dacc", "hippocampus"]


def test_measure_families_keep_connectivity_and_activity_apart():
    assert Measure.BOLD.family is MeasureFamily.ACTIVITY
    assert Measure.GLUCOSE_METABOLISM.family is MeasureFamily.ACTIVITY
    assert Measure.CONNECTIVITY.family is MeasureFamily.CONNECTIVITY
    assert Measure.GLX.family is MeasureFamily.NEUROCHEMISTRY
    assert Measure.RECEPTOR_BINDING.family is MeasureFamily.NEUROCHEMISTRY
    assert Measure.VOLUME.family is MeasureFamily.STRUCTURE
    corpus = [
        Study(id="a", region_findings=[RegionFinding(region="sgacc", direction="decrease",
                                                     measure="connectivity")]),
        Study(id="b", region_findings=[RegionFinding(region="sgacc", direction="decrease",
                                                     measure="bold")]),
    ]  # fmt: skip
    table = count_votes(corpus, region_of_focus=no_atlas).table
    assert sorted(zip(table["family"], table["decrease"], strict=True)) == [
        ("activity", 1),
        ("connectivity", 1),
    ]


def test_lally_findings_are_correlations_and_do_not_vote(corpus):
    for study_id in ("lally2014", "lally2015"):
        kinds = {f.kind for f in corpus[study_id].region_findings}
        assert kinds == {FindingKind.CORRELATION}, study_id
    votes = count_votes([corpus["lally2014"], corpus["lally2015"]], region_of_focus=no_atlas)
    assert votes.table.empty
    quoted = " ".join(f.notes or "" for f in corpus["lally2015"].region_findings)
    assert "Reduced anhedonia correlated with increased glucose metabolism" in quoted


# --- the authors' region name --------------------------------------------------------------


def test_the_authors_peak_label_votes_and_the_disagreement_is_listed():
    hippocampus = canonical_region("hippocampus")
    study = Study(
        id="dandash",
        analyses=[
            Analysis(
                id="t2",
                direction="increase",
                measure="connectivity",
                foci=[Focus(x=-18, y=-16, z=-12, label="L midbrain"), Focus(x=6, y=-18, z=2)],
            )
        ],
    )
    votes = count_votes([study], region_of_focus=lambda xyz: hippocampus)
    assert votes.studies == {
        ("connectivity", "hippocampus", "increase"): ("dandash",),  # the unlabelled peak
        ("connectivity", "midbrain", "increase"): ("dandash",),
    }
    (disagreement,) = votes.disagreements
    assert (disagreement.authors_label, disagreement.authors_region) == ("L midbrain", "midbrain")
    assert disagreement.atlas_region == "hippocampus"


def test_dandash_peaks_keep_the_authors_names(corpus):
    pytest.importorskip("neuroreview.space.atlas")
    (peaks,) = corpus["dandash2015"].analyses
    labels = {(f.x, f.y, f.z): f.label for f in peaks.foci}
    assert labels[(-18.0, -16.0, -12.0)] == "L midbrain"
    assert peaks.measure is Measure.CONNECTIVITY
    votes = count_votes([corpus["dandash2015"]])
    regions = {key[1] for key in votes.studies}
    assert "midbrain" in regions and "vmpfc" in regions
    assert {d.authors_region for d in votes.disagreements} >= {"midbrain"}
    assert all(key[0] == "connectivity" for key in votes.studies)


# --- one subject group, one experiment ----------------------------------------------------


def _two_tables_of_one_group() -> Study:
    return Study(
        id="carlson",
        n_subjects=20,
        analyses=[
            Analysis(id="t3", direction="increase", foci=[Focus(x=34, y=-88, z=-12),
                                                          Focus(x=38, y=-40, z=64)]),
            Analysis(id="t4", direction="increase", foci=[Focus(x=38, y=-40, z=64),
                                                          Focus(x=-22, y=-48, z=-10)]),
            Analysis(id="t5", direction="decrease", foci=[Focus(x=40, y=6, z=14)]),
        ],
    )  # fmt: skip


def _other_studies() -> list[Study]:
    rng = np.random.default_rng(7)
    studies = []
    for i in range(6):
        points = rng.uniform(-40, 40, size=(4, 3))
        foci = [Focus(x=x, y=y, z=z) for x, y, z in np.round(points)]
        studies.append(Study(id=f"s{i}", analyses=[Analysis(id="a", n_subjects=15 + i, foci=foci)]))
    return studies


def test_two_tables_of_one_group_are_one_experiment_with_repeats_counted_once():
    coordinates, pooling = build_experiments([_two_tables_of_one_group()])
    assert coordinates.experiment_ids == ("carlson-t3+t4", "carlson-t5")
    assert coordinates.foci_of(0).tolist() == [[34, -88, -12], [38, -40, 64], [-22, -48, -10]]
    assert pooling.n_repeated_removed == 1
    merged = pooling.to_dict()["merged"]
    assert merged == [
        {
            "experiment": "carlson-t3+t4",
            "analyses": ["t3", "t4"],
            "n_foci_reported": 4,
            "n_repeated_removed": 1,
        }
    ]
    assert "Turkeltaub" in pooling.rule()
    by_analysis, _ = build_experiments([_two_tables_of_one_group()], ExperimentUnit.ANALYSIS)
    assert by_analysis.experiment_ids == ("carlson-t3", "carlson-t4", "carlson-t5")


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("method", ["ale", "mkda"])
def test_group_pooling_equals_nimare_on_the_merged_experiment(method):
    from nimare.dataset import Dataset
    from nimare.meta.cbma import ALE as NiALE
    from nimare.meta.cbma import MKDADensity as NiMKDADensity

    increases = _two_tables_of_one_group().model_copy()
    increases.analyses = increases.analyses[:2]
    studies = [increases, *_other_studies()]
    ours, _ = build_experiments(studies)
    merged = Study(
        id="carlson",
        n_subjects=20,
        analyses=[
            Analysis(id="t3+t4", direction="increase", n_subjects=20, foci=[Focus(x=34, y=-88, z=-12),
                     Focus(x=38, y=-40, z=64), Focus(x=-22, y=-48, z=-10)]),
        ],
    )  # fmt: skip
    dataset = Dataset(to_nimare_dataset_dict([merged, *_other_studies()]), target="mni152_2mm")
    estimator, theirs_estimator = (
        (ALE(), NiALE()) if method == "ale" else (MKDADensity(), NiMKDADensity())
    )
    result = estimator.fit(ours)
    theirs = theirs_estimator.fit(dataset)
    assert ours.n_experiments == 7
    np.testing.assert_allclose(result.maps["stat"], theirs.maps["stat"], rtol=1e-5, atol=1e-7)


# --- coordinates checked before use -------------------------------------------------------


def test_khalili_mahani_invalid_foci_are_flagged(shared_data):
    path = shared_data / "ketamine" / "neurosynth_ketamine_foci.tsv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["id"] == "25554429"]
    tables: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        tables.setdefault(row["table_id"], []).append(row)
    study = Study(
        id="khalilimahani2014",
        analyses=[
            Analysis(id=t, foci=[Focus(x=r["x"], y=r["y"], z=r["z"]) for r in foci])
            for t, foci in tables.items()
        ],
    )
    flags = check_coordinates([study])
    outside = [f for f in flags if f.reason is FlagReason.OUTSIDE_MASK]
    assert len(rows) == 25 and len(flags) == 25  # both tables misparsed: every focus flagged
    assert len(outside) == 14  # farther than any kernel reaches
    assert (73.0, 73.0, 50.0) in {(f.x, f.y, f.z) for f in outside}
    assert sum(f.distance_mm > 0 for f in flags) == 18  # the 18 outside the brain


def test_repeated_peaks_of_one_group_are_flagged_once_seen():
    flags = check_coordinates([_two_tables_of_one_group()])
    assert [(f.analysis_id, f.focus_index, f.reason) for f in flags] == [
        ("t4", 0, FlagReason.DUPLICATE)
    ]
    assert not flags[0].leaves


# --- the curation leads, by study id ------------------------------------------------------


def _finding(study: Study, raw: str) -> RegionFinding:
    return next(f for f in study.region_findings if f.region_raw == raw)


def test_lead_outcomes(corpus):
    hoflich = corpus["hoflich2017"]
    sgacc = [f for f in hoflich.region_findings if f.region == "sgacc"]
    assert [(f.direction, f.kind) for f in sgacc] == [(Direction.DECREASE, FindingKind.DRUG_EFFECT)]
    assert {f.region for f in hoflich.region_findings if f.direction is Direction.INCREASE} >= {
        "mcc",
        "insula",
        "thalamus",
    }
    nugent = [f for f in corpus["nugent2016"].region_findings if f.region == "sgacc"]
    assert (Direction.DECREASE, Measure.CONNECTIVITY) in {(f.direction, f.measure) for f in nugent}
    deakin = corpus["deakin2008"]
    assert deakin.population.value == "healthy"
    assert any(
        f.region == "sgacc" and f.direction is Direction.DECREASE for f in deakin.region_findings
    )
    (kraguljac,) = corpus["kraguljac2017"].analyses
    assert [(f.x, f.y, f.z) for f in kraguljac.foci] == [(-30, 52, 14), (-28, -36, -2)]
    assert kraguljac.direction is Direction.DECREASE and kraguljac.space.value == "UNKNOWN"
    assert corpus["kraguljac2017"].n_subjects == 15
    carlson = {a.id: a for a in corpus["carlson2013"].analyses}
    assert (len(carlson["ns-15186-increase"].foci), len(carlson["ns-15186-decrease"].foci)) == (
        5,
        7,
    )
    assert carlson["ns-15187"].kind is FindingKind.OTHER
    assert corpus["pmc5518908"].doi == "10.1038/npp.2017.49"
    assert corpus["pmc5518908"].pmid == "28272497"
    assert corpus["li2017"].pmid == "28892733"
    abdallah2015 = corpus["abdallah2015"]
    assert abdallah2015.n_subjects == 16
    assert all("n = 13" in (f.notes or "") for f in abdallah2015.region_findings)
    downey = {a.id: a for a in corpus["downey-lanicemine"].analyses}
    assert downey["saberi-increase"].n_subjects == 19
    assert "9 -37 25" in downey["saberi-increase"].notes
    assert not [a for a in corpus.get("khalilimahani2014", Study(id="k")).analyses]
    # the saberi2025 experiments, each attached to its primary paper's study
    saberi = {
        s.id: sorted(a.id for a in s.analyses if a.id.startswith("saberi-"))
        for s in corpus.values()
        if any(a.id.startswith("saberi-") for a in s.analyses)
    }
    assert saberi == {
        "abdallah2017": ["saberi-decrease", "saberi-increase"],
        "downey-lanicemine": ["saberi-increase"],
        "gonzalez2020": ["saberi-decrease", "saberi-increase"],
        "li2016": ["saberi-decrease", "saberi-increase"],
        "reed2018": ["saberi-unknown"],
        "sterpenich2019": ["saberi-decrease", "saberi-increase"],
    }
    desimoni = [a for a in corpus["desimoni2013"].analyses]
    assert sum(len(a.foci) for a in desimoni) == 9  # 78 rows, 69 of them repeats


# --- the check command and analyze's refusal ----------------------------------------------


def _table_with_a_misread_row(tmp_path):
    lines = ["study_id,analysis_id,x,y,z,direction,n_subjects"]
    for i, (x, y, z) in enumerate([(-4, 42, -10), (6, -58, 28), (30, 20, 4)] * 2):
        lines.append(f"s{i},a,{x + i},{y},{z},increase,20")
    lines.append("s0,a,73,73,50,increase,20")  # far outside the brain
    lines.append("s1,a,7,-58,28,increase,20")  # a repeat of s1's own peak
    path = tmp_path / "foci.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_command_lists_flags_and_fails_on_foci_that_must_leave(tmp_path):
    from typer.testing import CliRunner

    from neuroreview.cli import app

    path = _table_with_a_misread_row(tmp_path)
    out = tmp_path / "flags.tsv"
    result = CliRunner().invoke(app, ["check", str(path), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "6 studies, 8 foci: 1 fail the check, 1 repeated within a subject group" in " ".join(
        result.output.split()
    )
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[1][:7] == ["s0", "a", "2", "73", "73", "50", "MNI"]
    assert rows[1][7] == FlagReason.OUTSIDE_MASK.value
    assert rows[2][:3] == ["s1", "a", "2"] and rows[2][7] == FlagReason.DUPLICATE.value
    again = CliRunner().invoke(app, ["check", str(path), "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def test_analyze_refuses_flagged_foci_unless_kept(tmp_path):
    from typer.testing import CliRunner

    from neuroreview.cli import app

    path = _table_with_a_misread_row(tmp_path)
    args = ["analyze", str(path), "--no-fwe", "--method", "mkda"]
    refused = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert refused.exit_code == 2
    assert "1 focus/foci fail the coordinate check" in " ".join(refused.output.split())
    assert not (tmp_path / "a").exists()
    kept = CliRunner().invoke(app, [*args, "--keep-outside-mask", "--out", str(tmp_path / "b")])
    assert kept.exit_code == 0, kept.output
    import json

    record = json.loads((tmp_path / "b" / "analysis.json").read_text(encoding="utf-8"))
    (flag,) = record["inputs"]["coordinate_flags_kept"]
    assert flag["xyz"] == [73.0, 73.0, 50.0]
    pooling = record["inputs"]["experiments"]
    assert pooling["unit"] == "group" and pooling["n_repeated_foci_removed"] == 1
    assert record["n_experiments"] == 6 and record["n_foci"] == 7


#: SQL that takes a version-3 store back to what version 2 had (no screening tables or columns).
V3_ADDITIONS_DROPPED = (
    "DROP INDEX ix_records_batch; ALTER TABLE records DROP COLUMN origin;"
    "ALTER TABLE records DROP COLUMN search_date; ALTER TABLE records DROP COLUMN batch;"
    "ALTER TABLE records DROP COLUMN location; ALTER TABLE records DROP COLUMN kind;"
    "ALTER TABLE decisions DROP COLUMN role; ALTER TABLE studies DROP COLUMN record_id;"
    "DROP TABLE import_batches; DROP TABLE merges; DROP TABLE duplicate_candidates;"
    "DROP TABLE screening_settings; DROP TABLE changes; DROP TABLE extractions;"
)


def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    import sqlite3

    from neuroreview.store import Repository

    db = tmp_path / "old.db"
    study = Study(id="s1", analyses=[Analysis(id="a", foci=[Focus(x=1, y=2, z=3)])])
    with Repository(db) as repository:
        repository.add_study(study)
    connection = sqlite3.connect(db)
    connection.executescript(
        V3_ADDITIONS_DROPPED
        + "ALTER TABLE analyses DROP COLUMN kind; ALTER TABLE analyses DROP COLUMN measure;"
        "ALTER TABLE analyses DROP COLUMN subject_group; ALTER TABLE foci DROP COLUMN label;"
        "ALTER TABLE region_findings DROP COLUMN kind; DELETE FROM schema_version;"
        "INSERT INTO schema_version VALUES (1, '0.1', '2026-01-01 00:00:00');"
    )
    connection.commit()
    connection.close()
    with Repository(db, create=False) as repository:
        assert repository.schema_version == 4
        (analysis,) = repository.get_study("s1").analyses
        # Version 4's tables came with the upgrade: the audit trail works on the old store.
        assert repository.study_changes() == ([], 0)
    assert analysis.kind is FindingKind.DRUG_EFFECT and analysis.foci[0].label is None

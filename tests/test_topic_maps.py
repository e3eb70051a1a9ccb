"""The Neurosynth topic maps: the counting kernel, the shipped file, and agreement with NiMARE.

The shipped archive holds per-voxel active-study counts; the maps are exact functions of them.
So "the shipped maps equal a fresh build" is tested as exact equality of the counts (and hence
of the float32 z), not within a rounding tolerance.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import resources

import numpy as np
import pytest
from scipy import sparse

from cbma_data import synthetic_cases
from neuroreview.cbma.base import AnalysisSpace
from neuroreview.cbma.inputs import CoordinateSet
from neuroreview.cbma.kernels import sphere_offsets
from neuroreview.cbma.ma import sphere_ma
from neuroreview.cbma.mkda import MKDAChi2
from neuroreview.decode._archive import array_sha256, npz_bytes
from neuroreview.decode._counts import active_counts
from neuroreview.decode.topic_maps import (
    ATTRIBUTION,
    TopicCounts,
    build_topic_maps,
    load_topic_counts,
    load_topic_maps,
    metadata_document,
    read_topic_counts,
    shipped_metadata,
    topic_counts,
)
from neuroreview.space import MNI152_2MM

SPACE = AnalysisSpace.default("brain")
N_VOXELS = 228_483
DATA = resources.files("neuroreview").joinpath("data", "neurosynth")


def column(ijk: tuple[int, int, int]) -> int:
    """The mask column of a voxel (mask voxels in C order)."""
    flat = np.ravel_multi_index(ijk, MNI152_2MM.shape)
    columns = np.cumsum(SPACE.mask.ravel()) - 1
    assert SPACE.mask[ijk]
    return int(columns[flat])


def at_voxels(voxels: list[tuple[int, int, int]], study_of_focus: list[str]) -> CoordinateSet:
    return CoordinateSet.from_arrays(MNI152_2MM.voxel_to_world(np.array(voxels)), study_of_focus)


# --- the counting kernel ------------------------------------------------------------------


def test_two_studies_by_hand() -> None:
    # Study a: one focus at voxel (30, 60, 40), deep enough that its whole sphere is in the
    # mask. Study b: two foci 4 and 6 mm further along i, so their spheres overlap heavily.
    # a is in group 0; b in groups 0 and 1.
    coordinates = at_voxels([(30, 60, 40), (32, 60, 40), (33, 60, 40)], ["a", "b", "b"])
    membership = np.array([[True, False], [True, True]])
    counts = active_counts(coordinates, membership, SPACE)
    assert counts.shape == (3, N_VOXELS) and counts.dtype == np.int32
    both = column((31, 60, 40))  # within 10 mm of all three foci
    only_a = column((25, 60, 40))  # exactly 10 mm from a; 14 and 16 mm from b's foci
    only_b = column((38, 60, 40))  # 10 mm from b's second focus, 16 mm from a
    far = column((30, 60, 54))  # 28 mm above
    assert counts[:, both].tolist() == [2, 1, 2]  # b counted once despite two foci
    assert counts[:, only_a].tolist() == [1, 0, 1]
    assert counts[:, only_b].tolist() == [1, 1, 1]
    assert counts[:, far].tolist() == [0, 0, 0]
    # A 10 mm sphere on the 2 mm grid has 515 voxels (integer points with norm <= 5), all in
    # the mask here; b's union covers a sphere plus the cap a one-voxel shift adds.
    assert len(sphere_offsets(10.0, (2.0, 2.0, 2.0))) == 515
    a_only = active_counts(coordinates.subset(["a"]), np.ones((1, 1), bool), SPACE)
    assert a_only[0].sum() == 515
    offsets = {tuple(o) for o in sphere_offsets(10.0, (2.0, 2.0, 2.0)).tolist()}
    cap = {(i + 1, j, k) for i, j, k in offsets} - offsets
    assert counts[1].sum() == 515 + len(cap)  # group 1 is b alone
    assert counts.max() == 2 and counts.min() == 0


def test_a_study_in_no_group_counts_only_in_the_total() -> None:
    coordinates = at_voxels([(30, 60, 40), (60, 60, 40)], ["a", "b"])
    counts = active_counts(coordinates, np.array([[True], [False]]), SPACE)
    assert counts[0].sum() == 515
    assert counts[1].sum() == 1030  # the two spheres are 60 mm apart: disjoint
    assert np.all(counts[1] >= counts[0])


@pytest.mark.parametrize("case", synthetic_cases(), ids=lambda c: c.name)
def test_counts_equal_summed_sphere_maps(case) -> None:
    coordinates = case.coordinates
    rng = np.random.default_rng(7)
    membership = rng.random((coordinates.n_experiments, 4)) < 0.4
    membership[:, 3] = False  # an empty group
    counts = active_counts(coordinates, sparse.csr_matrix(membership), SPACE)
    ma = sphere_ma(coordinates, SPACE, 10.0)
    for group in range(4):
        expected = np.asarray(ma[membership[:, group]].sum(axis=0)).ravel()
        assert np.array_equal(counts[group], expected)
    assert np.array_equal(counts[-1], np.asarray(ma.sum(axis=0)).ravel())


def test_membership_rows_must_match_the_experiments() -> None:
    coordinates = synthetic_cases()[0].coordinates
    with pytest.raises(ValueError, match="membership has 3 rows"):
        active_counts(coordinates, np.ones((3, 2), bool), SPACE)


# --- topic statistics ---------------------------------------------------------------------


def _toy_topics() -> tuple[CoordinateSet, np.ndarray]:
    coordinates = synthetic_cases()[1].coordinates  # 30 experiments
    weights = np.random.default_rng(3).dirichlet(np.full(3, 0.3), coordinates.n_experiments)
    weights[0] = [0.05, 0.9, 0.05]  # exactly at the threshold: selected (>=, as NiMARE)
    return coordinates, weights


def test_topic_z_equals_mkda_chi2_fit() -> None:
    coordinates, weights = _toy_topics()
    counts = topic_counts(coordinates, weights, ("t0", "t1", "t2"))
    ids = np.array(coordinates.experiment_ids)
    for topic in range(3):
        chosen = weights[:, topic] >= 0.05
        assert counts.n_selected[topic] == chosen.sum()
        result = MKDAChi2().fit(coordinates.subset(ids[chosen]), coordinates.subset(ids[~chosen]))
        assert np.array_equal(counts.association_z(topic), result.maps["z_desc-association"])
        assert np.array_equal(counts.uniformity_z(topic), result.maps["z_desc-uniformity"])
    maps = counts.maps()
    assert maps.z.dtype == np.float32 and maps.z.shape == (3, N_VOXELS)
    assert np.array_equal(maps.z[2], counts.association_z(2).astype(np.float32))
    assert weights[0, 0] == 0.05 and counts.n_selected[0] == (weights[:, 0] >= 0.05).sum()


def test_a_topic_with_no_study_is_refused_by_name() -> None:
    coordinates, weights = _toy_topics()
    weights[:, 2] = 0.0
    with pytest.raises(ValueError, match="t2 select no study or every study"):
        topic_counts(coordinates, weights, ("t0", "t1", "t2"))


def test_archive_round_trip_is_deterministic() -> None:
    coordinates, weights = _toy_topics()
    counts = topic_counts(coordinates, weights, ("t0", "t1", "t2"))
    data = npz_bytes(counts.arrays())
    assert data == npz_bytes(counts.arrays())
    back = read_topic_counts(data)
    assert back.topic_ids == counts.topic_ids and back.n_studies == counts.n_studies
    assert np.array_equal(back.active_selected, counts.active_selected)
    assert np.array_equal(back.maps().z, counts.maps().z)
    assert back.hashes() == counts.hashes()


def test_array_hash_covers_dtype_and_shape() -> None:
    values = np.arange(6, dtype=np.uint16)
    assert array_sha256(values) != array_sha256(values.reshape(2, 3))
    assert array_sha256(values) != array_sha256(values.astype(np.int16))


# --- the shipped file ---------------------------------------------------------------------


def test_shipped_maps_load_with_the_right_shapes() -> None:
    maps = load_topic_maps()
    assert maps.z.shape == (50, N_VOXELS) and maps.z.dtype == np.float32
    assert not maps.z.flags.writeable
    assert np.all(np.isfinite(maps.z))
    assert len(maps.topic_ids) == 50
    assert maps.topic_ids[0] == "0_network_state_resting"
    assert maps.topic_ids[36] == "36_placebo_treatment_dopamine"
    assert maps.space.n_voxels == N_VOXELS
    assert maps.threshold == 0.05
    assert maps.n_selected.shape == (50,) and maps.n_selected.min() > 0
    assert maps.n_selected.max() < 14_371
    # Every topic has a region its studies activate more than the rest (the weakest,
    # 35_schizophrenia_risk_genetic, peaks at z = 3.6).
    assert np.all(maps.z.max(axis=1) > 3.0)


def test_shipped_hashes_match_the_recorded_ones() -> None:
    metadata = shipped_metadata()
    archive = DATA.joinpath("topic_maps.npz").read_bytes()
    assert hashlib.sha256(archive).hexdigest() == metadata["archive_sha256"]
    counts = load_topic_counts()
    assert counts.hashes() == metadata["array_sha256"]
    assert metadata["attribution"] == ATTRIBUTION
    assert metadata["inputs"]["n_studies"] == counts.n_studies == 14_371
    assert metadata["inputs"]["studies_by_space"] == {"MNI": 10204, "TAL": 2335, "UNKNOWN": 1832}
    assert list(metadata["topics"]) == list(counts.topic_ids)
    assert list(metadata["topics"].values()) == counts.n_selected.tolist()
    assert np.all(counts.active_selected <= counts.active_all)


def test_shipped_readme_carries_the_attribution() -> None:
    readme = DATA.joinpath("README.md").read_text(encoding="utf-8")
    assert ATTRIBUTION in readme
    assert "topic_maps.npz" in readme


# --- against the Neurosynth files and NiMARE (slow) ---------------------------------------


@pytest.fixture(scope="module")
def fresh_build(neurosynth_dir):
    from neuroreview.decode._neurosynth_topics import topic_inputs
    from neuroreview.io.neurosynth import read_topic_files

    return build_topic_maps(topic_inputs(*read_topic_files(neurosynth_dir)))


@pytest.mark.slow
def test_a_fresh_build_equals_the_shipped_file(fresh_build) -> None:
    counts: TopicCounts = fresh_build.counts
    shipped = load_topic_counts()
    assert counts.hashes() == shipped_metadata()["array_sha256"]
    assert np.array_equal(counts.active_selected, shipped.active_selected)
    # So the float32 maps agree exactly, not merely within float16 rounding.
    for topic in (0, 36):
        assert np.array_equal(
            counts.association_z(topic).astype(np.float32), load_topic_maps().z[topic]
        )
    document = metadata_document(fresh_build, shipped_metadata()["archive_sha256"])
    assert json.loads(json.dumps(document)) == shipped_metadata()


#: The topic compared with NiMARE over the whole database: pharmacology. One topic, because
#: every topic runs the same code and each costs about 50 s of NiMARE on 2 cores (CI's
#: budget); every topic's counts are rebuilt from the files in
#: ``test_a_fresh_build_equals_the_shipped_file``, and z from counts equals an MKDA chi2 fit
#: in ``test_topic_z_equals_mkda_chi2_fit``.
NIMARE_TOPICS = (36,)


@pytest.fixture(scope="module")
def nimare_topic_maps(neurosynth_dir):
    """NiMARE's MKDAChi2 association z for the topics over all 14,371 studies.

    NiMARE reads the files itself (its own Talairach conversion and UNKNOWN handling) and
    selects studies with ``get_studies_by_label(label, 0.05)``; about 50 s per topic on 2
    cores and 1 GB of memory.
    """
    from nimare.io import convert_neurosynth_to_dataset
    from nimare.meta.cbma import MKDAChi2 as NiMKDAChi2

    prefix = "data-neurosynth_version-7_"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = convert_neurosynth_to_dataset(
            str(neurosynth_dir / f"{prefix}coordinates.tsv.gz"),
            str(neurosynth_dir / f"{prefix}metadata.tsv.gz"),
            annotations_files={
                "features": str(
                    neurosynth_dir / f"{prefix}vocab-LDA50_source-abstract_type-weight_features.npz"
                ),
                "vocabulary": str(neurosynth_dir / f"{prefix}vocab-LDA50_vocabulary.txt"),
            },
        )
        labels = [c for c in dataset.annotations.columns if c.startswith("LDA50_")]
        maps = {}
        for topic in NIMARE_TOPICS:
            selected = dataset.get_studies_by_label(labels[topic], label_threshold=0.05)
            unselected = sorted(set(dataset.ids) - set(selected))
            result = NiMKDAChi2().fit(dataset.slice(selected), dataset.slice(unselected))
            maps[topic] = (
                len(selected),
                np.asarray(result.get_map("z_desc-association", return_type="array")).ravel(),
            )
    return maps


@pytest.mark.slow
@pytest.mark.parametrize("topic", NIMARE_TOPICS)
def test_shipped_maps_agree_with_nimare_mkda_chi2(nimare_topic_maps, topic: int) -> None:
    n_selected, theirs = nimare_topic_maps[topic]
    maps = load_topic_maps()
    ours = maps.z[topic]
    assert n_selected == maps.n_selected[topic]
    assert np.corrcoef(ours, theirs)[0, 1] > 0.999
    # NiMARE returns float32 maps; ours are rounded to float32 from the same float64 values.
    assert np.max(np.abs(ours - theirs)) < 1e-5


def test_a_damaged_archive_is_refused(monkeypatch) -> None:
    import neuroreview.decode.topic_maps as topic_maps

    real = topic_maps._resource

    def damaged(name: str) -> bytes:
        data = real(name)
        return data[:-1] + bytes([data[-1] ^ 1]) if name == topic_maps.ARCHIVE_NAME else data

    monkeypatch.setattr(topic_maps, "_resource", damaged)
    topic_maps.load_topic_counts.cache_clear()
    try:
        with pytest.raises(ValueError, match="does not match the sha256"):
            topic_maps.load_topic_counts()
    finally:
        topic_maps.load_topic_counts.cache_clear()

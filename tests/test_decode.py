"""Functional decoding: topic labels, the shipped studies file, the region decoder (against hand
computation and NiMARE's NeurosynthDecoder) and the continuous decoder (against numpy's Pearson r
and known answers on Gaussian blobs)."""

from __future__ import annotations

import hashlib
import importlib.util
import types
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuroreview.cbma.base import AnalysisSpace
from neuroreview.decode.continuous import MapDecodingError, correlate_rows, decode_map
from neuroreview.decode.labels import KINDS, load_topic_labels, parse_topic_labels
from neuroreview.decode.neurosynth_data import (
    NeurosynthStudies,
    load_studies,
    read_studies,
    studies_bytes,
)
from neuroreview.decode.region import (
    COLUMNS,
    RegionDecodingError,
    decode_region,
    decode_selection,
)
from neuroreview.space import MNI152_2MM
from neuroreview.synthesis.regions import region_mask

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "data-neurosynth_version-7_"
TOPIC_MAPS = ROOT / "src" / "neuroreview" / "data" / "neurosynth" / "topic_maps.npz"


def topics_in(table: pd.DataFrame, n: int) -> list[int]:
    """The topic numbers of the first ``n`` rows."""
    return [int(t.split("_", 1)[0]) for t in table["topic"].head(n)]


# --- topic labels ---------------------------------------------------------------------------


def test_every_topic_has_a_label_and_a_kind():
    labels = load_topic_labels()
    assert list(labels) == list(load_studies().topic_ids)
    assert all(label.label and label.kind in KINDS for label in labels.values())
    assert all(len(label.top_words) == 10 for label in labels.values())
    methodological = {int(t.split("_")[0]) for t, lab in labels.items() if lab.methodological}
    assert {5, 15, 22, 43} <= methodological  # the generic-word topics
    assert labels["7_reward_feedback_striatum"].label.startswith("reward")


def test_top_words_are_the_keys_first_ten(neurosynth_dir):
    keys = (neurosynth_dir / f"{PREFIX}vocab-LDA50_keys.tsv").read_text(encoding="utf-8")
    vocabulary = (neurosynth_dir / f"{PREFIX}vocab-LDA50_vocabulary.txt").read_text().split()
    labels = load_topic_labels()
    assert list(labels) == vocabulary
    for line, topic in zip(keys.splitlines(), vocabulary, strict=True):
        assert labels[topic].top_words == tuple(line.split("\t")[2].split()[:10])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topic\tlabel\tkind\n", "lacks columns"),
        ("topic\tlabel\tkind\ttop_words\nt1\tx\tmood\tw\n", "kind 'mood'"),
        ("topic\tlabel\tkind\ttop_words\nt1\tx\tmethod\tw\nt1\ty\tmethod\tw\n", "twice"),
        ("topic\tlabel\tkind\ttop_words\nt1\t\tmethod\tw\n", "must not be empty"),
    ],
)
def test_label_file_problems_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_topic_labels(text)


# --- the shipped studies file ---------------------------------------------------------------


def test_shipped_studies_cover_the_whole_database():
    studies = load_studies()
    assert studies.n_studies == 14371 and studies.n_topics == 50
    assert int(studies.n_foci.sum()) == 507891
    assert np.bincount(studies.space).tolist() == [10204, 2335, 1832]  # MNI, TAL, UNKNOWN
    assert studies.n_foci_outside_grid == 206
    assert studies.member.sum(axis=0)[7] == 1218  # reward: weight >= 0.05
    counts = np.diff(studies.voxel_offsets)
    assert counts.sum() == studies.voxels.shape[0] and (counts <= studies.n_foci).all()
    # Each study's voxels are distinct and ascending.
    steps = np.diff(studies.voxels.astype(np.int64))
    within = np.ones(steps.shape, dtype=bool)
    within[studies.voxel_offsets[1:-1] - 1] = False
    assert (steps[within[: steps.size]] > 0).all()


def test_studies_round_trip_through_bytes():
    studies = load_studies().subset(np.arange(0, 14371, 97))
    again = read_studies(studies_bytes(studies))
    for name in ("pmids", "space", "n_foci", "voxel_offsets", "voxels", "weights", "member"):
        assert np.array_equal(getattr(again, name), getattr(studies, name)), name
    assert again.topic_ids == studies.topic_ids
    assert studies_bytes(again) == studies_bytes(studies)  # deterministic bytes


def test_studies_file_rebuilds_byte_for_byte(neurosynth_dir):
    spec = importlib.util.spec_from_file_location(
        "build_neurosynth_studies", ROOT / "tools" / "build_neurosynth_studies.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    payload, summary = tool.build(neurosynth_dir)
    shipped = resources.files("neuroreview").joinpath("data", "neurosynth", "studies.npz")
    assert hashlib.sha256(payload).digest() == hashlib.sha256(shipped.read_bytes()).digest()
    assert "UNKNOWN 1832 studies / 53878 foci" in summary


def test_selection_uses_talairach_conversion_and_nearest_voxel():
    studies = load_studies()
    # One voxel of one study: the mask of exactly that voxel selects the study.
    s = int(np.flatnonzero(studies.space == 1)[0])  # a Talairach study
    voxel = studies.voxels[studies.voxel_offsets[s]]
    mask = np.zeros(MNI152_2MM.shape, dtype=bool)
    mask.reshape(-1)[voxel] = True
    selected = studies.studies_in_mask(mask)
    assert selected[s]
    assert selected.sum() == sum(
        voxel in studies.voxels[studies.voxel_offsets[i] : studies.voxel_offsets[i + 1]]
        for i in range(studies.n_studies)
    )


def test_studies_without_voxels_are_never_selected():
    studies = load_studies()
    empty = np.flatnonzero(np.diff(studies.voxel_offsets) == 0)
    assert empty.size == 4  # every focus outside the grid
    last = studies.subset(np.r_[np.arange(10), empty])  # empty studies at the end
    selected = last.studies_in_mask(np.ones(MNI152_2MM.shape, dtype=bool))
    assert selected.tolist() == [True] * 10 + [False] * 4


# --- region decoder: hand computation ---------------------------------------------------------


def toy_studies(member: np.ndarray, in_region: np.ndarray) -> NeurosynthStudies:
    """Studies with a focus in voxel 0 (the region) or voxel 1, and the given topic membership."""
    n, t = member.shape
    return NeurosynthStudies(
        pmids=np.arange(n, dtype=np.int64),
        space=np.zeros(n, dtype=np.uint8),
        n_foci=np.ones(n, dtype=np.int32),
        voxel_offsets=np.arange(n + 1, dtype=np.int64),
        voxels=np.where(in_region, 0, 1).astype(np.int32),
        topic_ids=tuple(f"{i}_topic" for i in range(t)),
        weights=member.astype(np.float16) * 0.5,
        member=member.astype(bool),
        threshold=0.05,
        grid_shape=(2, 1, 1),
        n_foci_outside_grid=0,
    )


def test_region_table_matches_a_hand_computed_contingency_analysis():
    rng = np.random.default_rng(7)
    member = rng.random((400, 6)) < [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    in_region = rng.random(400) < np.where(member[:, 2], 0.6, 0.2)  # topic 2 favours the region
    studies = toy_studies(member, in_region)
    region = np.array([True, False]).reshape(2, 1, 1)
    result = decode_region(region, studies, correction="none")
    table = result.table.set_index("topic")
    assert list(result.table.columns) == list(COLUMNS)
    assert result.table["topic"].iloc[0] == "2_topic"
    assert result.n_selected == in_region.sum()
    p_values = []
    for t in range(6):
        a = int((member[:, t] & in_region).sum())
        b = int((member[:, t] & ~in_region).sum())
        c = int((~member[:, t] & in_region).sum())
        d = int((~member[:, t] & ~in_region).sum())
        chi2, p, _, _ = stats.chi2_contingency([[a, b], [c, d]], correction=False)
        row = table.loc[f"{t}_topic"]
        assert row["p_association"] == pytest.approx(p, rel=1e-9)
        assert abs(row["z_association"]) == pytest.approx(stats.norm.isf(p / 2), rel=1e-9)
        assert np.sign(row["z_association"]) == np.sign(a / (a + b) - c / (c + d))
        # Bayes with prior 0.5: P(topic | region) = P(r|t) / (P(r|t) + P(r|not t)).
        p_rt, p_rn = a / (a + b), c / (c + d)
        assert row["prob_topic_given_region"] == pytest.approx(p_rt / (p_rt + p_rn))
        assert row["prob_region_given_topic"] == pytest.approx(0.5 * p_rt + 0.5 * p_rn)
        assert (row["n_selected_topic"], row["n_topic"]) == (a, a + b)
        p_values.append(p)
    corrected = decode_region(region, studies).table.set_index("topic")
    expected = stats.false_discovery_control(p_values, method="bh")
    assert corrected.loc[[f"{t}_topic" for t in range(6)], "p_association"].to_numpy() == (
        pytest.approx(expected, rel=1e-9)
    )


def test_a_region_no_study_reports_is_an_error():
    member = np.eye(4, 2, dtype=bool)
    studies = toy_studies(member, np.zeros(4, dtype=bool))
    with pytest.raises(RegionDecodingError, match="no Neurosynth study"):
        decode_region(np.array([True, False]).reshape(2, 1, 1), studies)
    with pytest.raises(ValueError, match="one bool per study"):
        decode_selection(np.ones(3, dtype=bool), studies)


# --- region decoder: known answers on the real database -------------------------------------


@pytest.mark.parametrize(
    ("region", "expected", "top"),
    [
        ("amygdala", {26, 13}, 3),  # emotion, fear
        ("ventral_striatum", {7}, 1),  # reward
        ("hippocampus", {33}, 1),  # episodic memory
        ("motor", {17}, 1),  # motor
        ("pcc", {0, 8}, 3),  # default mode, self-referential
    ],
)
def test_region_decoder_known_answers(region, expected, top):
    table = decode_region(region_mask(region)).table
    assert expected & set(topics_in(table, top)), table.head(top)
    assert (table["rank"] == np.arange(1, 51)).all()
    assert table["z_association"].is_monotonic_decreasing


# --- region decoder: agreement with NiMARE ---------------------------------------------------


@pytest.fixture(scope="module")
def nimare_quarter(neurosynth_dir, tmp_path_factory):
    """Every fourth Neurosynth study (3,593, all three spaces) as a NiMARE Dataset, built from
    the raw files with NiMARE's own importer, and the same studies from our shipped file."""
    pytest.importorskip("nimare")
    from nimare.io import convert_neurosynth_to_dataset
    from scipy import sparse

    folder = tmp_path_factory.mktemp("neurosynth_quarter")
    metadata = pd.read_table(neurosynth_dir / f"{PREFIX}metadata.tsv.gz", dtype={"id": str})
    coordinates = pd.read_table(neurosynth_dir / f"{PREFIX}coordinates.tsv.gz", dtype={"id": str})
    weights = sparse.load_npz(
        neurosynth_dir / f"{PREFIX}vocab-LDA50_source-abstract_type-weight_features.npz"
    )
    rows = np.arange(0, len(metadata), 4)
    metadata.iloc[rows].to_csv(folder / "metadata.tsv", sep="\t", index=False)
    chosen = set(metadata["id"].iloc[rows])
    coordinates[coordinates["id"].isin(chosen)].to_csv(
        folder / "coordinates.tsv", sep="\t", index=False
    )
    features = folder / f"{PREFIX}vocab-LDA50_source-abstract_type-weight_features.npz"
    sparse.save_npz(features, sparse.csc_matrix(weights.toarray()[rows]))
    vocabulary = folder / "vocabulary.txt"
    vocabulary.write_text((neurosynth_dir / f"{PREFIX}vocab-LDA50_vocabulary.txt").read_text())
    dataset = convert_neurosynth_to_dataset(
        folder / "coordinates.tsv",
        folder / "metadata.tsv",
        annotations_files={"features": str(features), "vocabulary": str(vocabulary)},
    )
    from nimare.decode.discrete import NeurosynthDecoder

    decoder = NeurosynthDecoder(frequency_threshold=0.05)
    decoder.fit(dataset)
    return dataset, decoder, load_studies().subset(rows)


@pytest.mark.parametrize("region", ["amygdala", "ventral_striatum", "motor", "sgacc"])
def test_region_decoder_equals_nimare_neurosynth_decoder(nimare_quarter, region):
    import nibabel

    dataset, decoder, studies = nimare_quarter
    mask = region_mask(region)
    ids = dataset.get_studies_by_mask(nibabel.Nifti1Image(mask.astype(np.uint8), MNI152_2MM.affine))
    selected = studies.studies_in_mask(mask)
    assert {str(p) for p in studies.pmids[selected]} == {i.split("-")[0] for i in ids}
    theirs = decoder.transform(ids)
    theirs.index = [name.split("__", 1)[1] for name in theirs.index]
    ours = decode_selection(selected, studies).table.set_index("topic").loc[theirs.index]
    pairs = {
        "zReverse": "z_association",
        "pReverse": "p_association",
        "probReverse": "prob_topic_given_region",
        "zForward": "z_uniformity",
        "pForward": "p_uniformity",
        "probForward": "prob_region_given_topic",
    }
    for nimare_column, column in pairs.items():
        np.testing.assert_allclose(
            ours[column].to_numpy(), theirs[nimare_column].to_numpy(), rtol=1e-6, atol=1e-12
        )


# --- continuous decoder ---------------------------------------------------------------------


def fake_maps(z: np.ndarray) -> types.SimpleNamespace:
    """Just what decode_map reads from a TopicMaps: z over the brain mask, ids, the space."""
    space = AnalysisSpace.default("brain")
    ids = tuple(load_studies().topic_ids[: z.shape[0]])
    return types.SimpleNamespace(z=z.astype(np.float32), topic_ids=ids, space=space)


def test_correlations_equal_numpy_pearson_on_hand_made_maps():
    rng = np.random.default_rng(3)
    space = AnalysisSpace.default("brain")
    n = space.n_voxels
    x = rng.normal(size=n)
    z = np.vstack([x + rng.normal(scale=s, size=n) for s in (0.1, 1.0, 10.0)] + [-x + 1000.0])
    maps = fake_maps(z)
    volume = np.full(MNI152_2MM.shape, np.nan)
    volume[space.mask] = x
    result = decode_map(volume, maps)
    expected = [np.corrcoef(x, row.astype(np.float32))[0, 1] for row in z]
    r = result.table.set_index("topic").loc[list(maps.topic_ids), "r"].to_numpy()
    np.testing.assert_allclose(r, expected, rtol=1e-10, atol=1e-12)
    assert result.table["topic"].tolist()[0] == maps.topic_ids[0]
    assert result.table["topic"].tolist()[-1] == maps.topic_ids[3]  # anti-correlated
    assert result.n_voxels == n


def test_voxels_without_values_are_left_out():
    rng = np.random.default_rng(4)
    space = AnalysisSpace.default("brain")
    z = rng.normal(size=(2, space.n_voxels))
    x = rng.normal(size=space.n_voxels)
    gone = rng.random(space.n_voxels) < 0.3
    x_with_gaps = np.where(gone, np.nan, x)
    volume = np.zeros(MNI152_2MM.shape)
    volume[space.mask] = x_with_gaps
    result = decode_map(volume, fake_maps(z))
    assert result.n_voxels == int((~gone).sum())
    expected = correlate_rows(x[~gone], z[:, ~gone].astype(np.float32))
    r = result.table.set_index("topic")["r"].loc[list(fake_maps(z).topic_ids)].to_numpy()
    np.testing.assert_allclose(r, expected)
    assert expected[0] == pytest.approx(stats.pearsonr(x[~gone], z[0, ~gone])[0], abs=1e-6)


def test_unusable_maps_are_refused():
    maps = fake_maps(np.ones((2, AnalysisSpace.default("brain").n_voxels)))
    with pytest.raises(MapDecodingError, match="shape"):
        decode_map(np.zeros((10, 10, 10)), maps)
    with pytest.raises(MapDecodingError, match="constant"):
        decode_map(np.full(MNI152_2MM.shape, 2.0), maps)
    with pytest.raises(MapDecodingError, match="no values"):
        decode_map(np.full(MNI152_2MM.shape, np.nan), maps)


# --- continuous decoder: known answers on the shipped topic maps ----------------------------

needs_topic_maps = pytest.mark.skipif(
    not TOPIC_MAPS.is_file(), reason="topic_maps.npz is not built yet (decode/topic_maps.py)"
)
_XYZ = MNI152_2MM.voxel_to_world(np.indices(MNI152_2MM.shape).reshape(3, -1).T).reshape(
    *MNI152_2MM.shape, 3
)


def gaussian_blobs(*centres: tuple[float, float, float], sigma_mm: float = 6.0) -> np.ndarray:
    """A map of Gaussian blobs (peak 1) at MNI centres, on the 2 mm grid."""
    volume = np.zeros(MNI152_2MM.shape)
    for centre in centres:
        volume += np.exp(-((_XYZ - np.array(centre)) ** 2).sum(axis=-1) / (2 * sigma_mm**2))
    return volume


BLOBS = {
    "amygdalae": ([(-24, -4, -18), (24, -4, -18)], {26, 13}),  # emotion, fear
    "ventral striatum": ([(-10, 10, -8), (10, 10, -8)], {7}),  # reward
    "PCC + medial PFC": ([(0, -52, 26), (0, 52, -2)], {0, 8}),  # default mode, self
    "left motor cortex": ([(-38, -22, 56)], {17}),  # motor
}


@needs_topic_maps
@pytest.mark.parametrize("name", list(BLOBS))
def test_continuous_decoder_known_answers(name):
    from neuroreview.decode.topic_maps import load_topic_maps

    centres, expected = BLOBS[name]
    table = decode_map(gaussian_blobs(*centres), load_topic_maps()).table
    assert expected & set(topics_in(table, 3)), table.head(3)


@needs_topic_maps
def test_continuous_decoder_equals_nimare_correlation_decoder(tmp_path):
    """Our r equals NiMARE's CorrelationDecoder given the same topic maps (speed: the benchmark)."""
    import nibabel
    from nimare.decode.continuous import CorrelationDecoder

    from neuroreview.decode.topic_maps import load_topic_maps

    maps = load_topic_maps()
    chosen = [0, 7, 26, 36]
    files = {}
    for index in chosen:
        volume = np.zeros(MNI152_2MM.shape, dtype=np.float32)
        volume[maps.space.mask] = maps.z[index]
        files[maps.topic_ids[index]] = str(tmp_path / f"{maps.topic_ids[index]}.nii.gz")
        nibabel.save(nibabel.Nifti1Image(volume, MNI152_2MM.affine), files[maps.topic_ids[index]])
    mask = nibabel.Nifti1Image(maps.space.mask.astype(np.uint8), MNI152_2MM.affine)
    decoder = CorrelationDecoder()
    decoder.load_imgs(files, mask=mask)
    volume = gaussian_blobs((-24, -4, -18), (24, -4, -18))
    theirs = decoder.transform(nibabel.Nifti1Image(volume.astype(np.float32), MNI152_2MM.affine))
    ours = decode_map(volume, maps).table.set_index("topic")["r"]
    np.testing.assert_allclose(
        ours[theirs.index].to_numpy(), theirs["r"].to_numpy(dtype=float), rtol=0, atol=1e-6
    )
    assert theirs["r"].astype(float).idxmax() == "26_emotional_amygdala_negative"


def test_the_decoders_import_no_store_web_cli_or_report():
    import ast
    import subprocess
    import sys

    code = (
        "import sys, neuroreview.decode as d; "
        "d.decode_region, d.decode_map, d.load_studies, d.load_topic_labels; "
        "import neuroreview.decode.volumes; "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('neuroreview.')}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    layers = set(ast.literal_eval(output.strip()))
    assert not layers & {"store", "web", "cli", "report"}, layers


def test_lazy_exports_are_listed():
    import neuroreview.decode as decode

    assert sorted(decode.__all__) == sorted(decode._EXPORTS)
    assert decode.decode_region is decode_region

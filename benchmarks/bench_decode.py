"""Benchmark: decoding one map and one region (budget: under 2 s), against NiMARE's decoders.

Rows:

* ``neuroreview decode MAP`` in a fresh process (imports, loading the 50 shipped topic maps,
  correlating, printing): median of five;
* ``decode_map`` with the maps in memory, against NiMARE 0.22.1's ``CorrelationDecoder.transform``
  after ``load_imgs`` of the same 50 maps (written as NIfTI files); the peer's ``load_imgs``
  is timed too, as it is NiMARE's equivalent of our loading;
* ``decode_region`` on the amygdala (AAL3) with the shipped study table in memory.

The decoded map is a fixed Gaussian blob on both amygdalae. Run ``python
benchmarks/bench_decode.py`` (or ``python benchmarks/run.py --only decode``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import new_result, publish

BLOB_CENTRES_MM = ((-22.0, -4.0, -18.0), (22.0, -4.0, -18.0))
BLOB_SIGMA_MM = 6.0


def _blob_image():
    import nibabel

    from neuroreview.space import MNI152_2MM

    ijk = np.indices(MNI152_2MM.shape).reshape(3, -1).T
    xyz = nibabel.affines.apply_affine(MNI152_2MM.affine, ijk)
    values = np.zeros(len(xyz))
    for centre in BLOB_CENTRES_MM:
        values += np.exp(-np.sum((xyz - centre) ** 2, axis=1) / (2 * BLOB_SIGMA_MM**2))
    return nibabel.Nifti1Image(
        values.reshape(MNI152_2MM.shape).astype(np.float32), MNI152_2MM.affine
    )


def _median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cli_seconds(path: Path, repeats: int) -> float:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    command = [sys.executable, "-m", "neuroreview", "decode", str(path), "--top", "3"]
    return _median_seconds(
        lambda: subprocess.run(command, check=True, env=env, capture_output=True), repeats
    )


def _peer(maps, image, folder: Path, repeats: int) -> tuple[float, float, float]:
    """NiMARE's load_imgs and transform on the same maps; the largest |r| difference from ours."""
    import nibabel
    from nimare.decode.continuous import CorrelationDecoder

    files = {}
    for topic, z in zip(maps.topic_ids, maps.z, strict=True):
        volume = np.zeros(maps.space.grid.shape, dtype=np.float32)
        volume[maps.space.mask] = z
        files[topic] = str(folder / f"{topic}.nii.gz")
        nibabel.save(nibabel.Nifti1Image(volume, maps.space.grid.affine), files[topic])
    mask = nibabel.Nifti1Image(maps.space.mask.astype(np.uint8), maps.space.grid.affine)
    decoder = CorrelationDecoder()
    start = time.perf_counter()
    decoder.load_imgs(files, mask=mask)
    load = time.perf_counter() - start
    transform = _median_seconds(lambda: decoder.transform(image), repeats)
    return load, transform, decoder.transform(image)


def run(repeats: int = 5, append: bool = True) -> dict:
    import nibabel

    from neuroreview.decode import decode_map, decode_region, load_studies, load_topic_maps
    from neuroreview.space import MNI152_2MM
    from neuroreview.space.atlas import mask_for_labels

    image = _blob_image()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "blob.nii.gz"
        nibabel.save(image, path)
        cli = _cli_seconds(path, repeats)
        maps = load_topic_maps()
        values = np.asarray(image.dataobj, dtype=np.float64)
        ours = decode_map(values, maps)
        in_memory = _median_seconds(lambda: decode_map(values, maps), 20)
        peer_load, peer_transform, peer_table = _peer(maps, image, folder, repeats)
    ours_r = ours.table.set_index("topic")["r"]
    difference = float(np.max(np.abs(ours_r[peer_table.index].to_numpy() - peer_table["r"])))
    studies = load_studies()
    amygdala = mask_for_labels(["Amygdala_L", "Amygdala_R"], MNI152_2MM)
    region = _median_seconds(lambda: decode_region(amygdala, studies), 20)
    top = ours.table.iloc[0]
    rows = [
        (
            "decode: `neuroreview decode MAP` (fresh process, wall)",
            f"{cli:.2f} s",
            "n/a",
            f"median of {repeats}; imports, loading the 50 shipped topic maps (LZMA, z from "
            f"counts), correlating, printing; map: Gaussian blobs (sigma {BLOB_SIGMA_MM:g} mm) on "
            f"both amygdalae, top topic {top['topic']} (r = {top['r']:.3f}); budget: under 2 s",
        ),
        (
            "decode: one map against 50 topic maps, maps in memory",
            f"{in_memory * 1000:.0f} ms",
            f"{peer_transform * 1000:.0f} ms (NiMARE 0.22.1 CorrelationDecoder.transform)",
            f"median of 20 (peer: {repeats}); same 50 maps given to the peer with load_imgs "
            f"({peer_load:.1f} s, not included); largest |r| difference {difference:.1e}",
        ),
        (
            "decode: region (AAL3 amygdala) against 14,371 studies, study table in memory",
            f"{region * 1000:.1f} ms",
            "n/a",
            "median of 20; association test and posterior probability for 50 topics "
            "(NiMARE's NeurosynthDecoder needs a fitted Dataset of the 14,371 studies: not timed)",
        ),
    ]
    return publish(new_result("decode", rows=rows), append)


if __name__ == "__main__":
    for measurement, ours, peer, _ in run()["rows"]:
        print(f"{measurement:60s} ours {ours:>8s}   peer {peer}")

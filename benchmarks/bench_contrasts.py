"""Benchmark: ALE contrasts (subtraction) on NiMARE's pain example, ours against NiMARE.

Run ``python benchmarks/bench_contrasts.py`` (``--no-append`` to only print). NiMARE's
21-experiment pain example is split into its first 10 and last 11 experiments (by id), the same
experiments for both tools. Each measurement is a function in :data:`MEASUREMENTS` returning
its rows, so another contrast (e.g. a jackknife) is one more entry.

``subtraction``: ``ALESubtraction`` with 10,000 permutations, ours with 2 threads (after one
small warm-up run that loads the compiled kernels), NiMARE 0.22.1 (``n_cores=2``) at
:data:`PEER_ITERS` permutations (10,000, about a minute; a smaller count is scaled linearly to
10,000, its cost per permutation being constant). The notes give the correlation of the two z
maps (both at the peer's permutation count, different random streams), the voxels with
p <= 0.001 in one map and not the other, and our peak RSS increase during the
10,000-permutation run (the null is never stored).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")  # NiMARE's progress bars

from _results import new_result, publish  # noqa: E402

PEER = "NiMARE 0.22.1"
N_ITERS = 10_000
N_JOBS = 2
PEER_ITERS = 10_000
Z = "z_desc-group1MinusGroup2"
P = "p_desc-group1MinusGroup2"


def _quiet() -> None:
    import logging

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)


def _pain_halves():
    """Both tools' views of the pain example, split 10 / 11 by experiment id."""
    import nimare
    from nimare.dataset import Dataset

    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.io.nimare_json import read_nimare_json, to_nimare_dataset_dict

    studies = read_nimare_json(Path(nimare.__file__).parent / "resources" / "nidm_pain_dset.json")
    coordinates = CoordinateSet.from_studies(studies)
    ids = sorted(coordinates.experiment_ids)
    dataset = Dataset(to_nimare_dataset_dict(studies), target="mni152_2mm")
    ours = (coordinates.subset(ids[:10]), coordinates.subset(ids[10:]))
    theirs = (dataset.slice(ids[:10]), dataset.slice(ids[10:]))
    return ours, theirs


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure_subtraction() -> tuple[list[tuple[str, str, str, str]], dict]:
    import numpy as np
    from nimare.meta.cbma import ALESubtraction as NiALESubtraction

    from neuroreview.cbma.subtraction import ALESubtraction

    _quiet()
    (ours1, ours2), (theirs1, theirs2) = _pain_halves()
    ALESubtraction(n_iters=100, seed=1, n_jobs=N_JOBS).fit(ours1, ours2)  # load the kernels
    before = _peak_rss_kib()
    start = time.perf_counter()
    result = ALESubtraction(n_iters=N_ITERS, seed=0, n_jobs=N_JOBS).fit(ours1, ours2)
    seconds = time.perf_counter() - start
    rss_mib = (_peak_rss_kib() - before) / 1024
    start = time.perf_counter()
    theirs = NiALESubtraction(n_iters=PEER_ITERS, n_cores=N_JOBS).fit(theirs1, theirs2)
    peer_seconds = time.perf_counter() - start
    peer_scaled = peer_seconds * N_ITERS / PEER_ITERS
    if PEER_ITERS != N_ITERS:
        result = ALESubtraction(n_iters=PEER_ITERS, seed=0, n_jobs=N_JOBS).fit(ours1, ours2)
    z_ours = result.maps[Z]
    z_theirs = np.asarray(theirs.maps[Z], dtype=np.float64)
    r = float(np.corrcoef(z_ours, z_theirs)[0, 1])
    # p <= 0.001 (float32 p of NiMARE: allow its rounding of 0.001)
    ours_sig = result.maps[P] <= 0.001 * (1 + 1e-6)
    theirs_sig = np.asarray(theirs.maps[P], dtype=np.float64) <= 0.001 * (1 + 1e-6)
    only_ours = int(np.sum(ours_sig & ~theirs_sig))
    only_theirs = int(np.sum(theirs_sig & ~ours_sig))
    ijk = np.argwhere(result.space.mask)
    xyz = result.space.grid.voxel_to_world(ijk)
    entry = {
        "seconds": seconds,
        "peer_seconds": peer_seconds,
        "peer_iters": PEER_ITERS,
        "peer_seconds_scaled": peer_scaled,
        "speedup": peer_scaled / seconds,
        "z_correlation": r,
        "only_ours": only_ours,
        "only_theirs": only_theirs,
        "rss_increase_mib": rss_mib,
        "significant_ours": int(ours_sig.sum()),
        "significant_theirs": int(theirs_sig.sum()),
        "only_ours_xyz": xyz[ours_sig & ~theirs_sig].tolist(),
        "only_theirs_xyz": xyz[theirs_sig & ~ours_sig].tolist(),
        "voxel_sets": result.settings["voxel_sets"],
    }
    scaled = ", scaled linearly to 10,000" if PEER_ITERS != N_ITERS else ""
    notes = (
        f"pain example split 10/11 experiments; {N_ITERS:,} permutations, {N_JOBS} threads, "
        f"kernels loaded; peer {PEER} (n_cores={N_JOBS}) at {PEER_ITERS:,} permutations "
        f"({peer_seconds:.1f} s{scaled}); {peer_scaled / seconds:.0f}x faster. "
        f"z maps at {PEER_ITERS:,} permutations each (different random streams) correlate "
        f"r = {r:.4f}; p <= 0.001 in {int(ours_sig.sum())} voxels (ours) and "
        f"{int(theirs_sig.sum())} (NiMARE), in ours only: {only_ours}, in NiMARE's only: "
        f"{only_theirs}. Our peak RSS increase {rss_mib:.0f} MiB (tail counts "
        "only, no permutations x voxels null)"
    )
    rows = [
        (
            f"contrasts: ALE subtraction, {N_ITERS:,} permutations (s)",
            f"{seconds:.2f}",
            f"{peer_scaled:.1f}",
            notes,
        )
    ]
    return rows, entry


#: Each measurement returns (rows, details); add new contrasts here.
MEASUREMENTS: dict[str, Callable[[], tuple[list[tuple[str, str, str, str]], dict]]] = {
    "subtraction": measure_subtraction,
}


def run(append: bool = True, names: tuple[str, ...] = tuple(MEASUREMENTS)) -> dict:
    rows: list[tuple[str, str, str, str]] = []
    details = {}
    for name in names:
        print(f"   {name} ...", flush=True)
        measured_rows, details[name] = MEASUREMENTS[name]()
        rows.extend(measured_rows)
    return publish(new_result("contrasts", results=details, rows=rows), append)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measurement", choices=sorted(MEASUREMENTS), action="append")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    chosen = tuple(args.measurement) if args.measurement else tuple(MEASUREMENTS)
    outcome = run(not args.no_append, chosen)
    for measurement, mine, theirs, notes in outcome["rows"]:
        print(f"{measurement}: ours {mine}, peer {theirs} ({notes})")
    for name, details in outcome["results"].items():
        for key in ("only_ours_xyz", "only_theirs_xyz"):
            if key in details:
                print(f"{name} {key}: {details[key][:10]}")

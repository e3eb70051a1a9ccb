"""Benchmark: Monte Carlo FWE correction of ALE and MKDA density, against NiMARE in the same run.

Run ``python benchmarks/cbma.py`` (``--no-append`` to only print). Two datasets, both with the
same foci for both tools:

- NiMARE's pain example (21 experiments, 267 foci), from its bundled NIDM JSON;
- NiMARE's NeuroStore example (``nback_vs_flanker_studyset_2026-07``: 906 analyses, 9,492
  foci), read by NiMARE's ``Studyset``; our coordinates are NiMARE's after its space
  conversion, and every experiment's sample size is fixed at 20.

For each, ALE and MKDA density are fitted, then the FWE step (voxel-, cluster-size and
cluster-mass nulls, cluster-forming p < 0.001) is timed with 2 workers: 10,000 iterations for
us; NiMARE at fewer iterations (1,000 on pain, 60 on NeuroStore), scaled linearly to 10,000
(its per-iteration cost is constant). Peak memory is each tool's peak RSS increase while running
the null in one process, measured in a fresh child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")  # NiMARE's progress bars

from _results import new_result, publish  # noqa: E402

PEER = "NiMARE 0.22.1"
N_ITERS = 10_000
N_JOBS = 2
PEER_ITERS = {"pain": 1_000, "neurostore": 60}
NEUROSTORE = "nback_vs_flanker_studyset_2026-07"
DATASETS = ("pain", "neurostore")


def _resources() -> Path:
    import nimare

    return Path(nimare.__file__).parent / "resources"


def _quiet() -> None:
    import logging

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)


def nimare_data(name: str):
    """NiMARE's own reading of the dataset (a Dataset or a Studyset)."""
    if name == "pain":
        from nimare.dataset import Dataset

        return Dataset(str(_resources() / "nidm_pain_dset.json"))
    from nimare.studyset import Studyset

    return Studyset(_resources() / NEUROSTORE)


def nimare_estimator(name: str, method: str):
    from nimare.meta import cbma

    if method == "mkda":
        return cbma.MKDADensity()
    return cbma.ALE(kernel__sample_size=20) if name == "neurostore" else cbma.ALE()


def our_estimator(name: str, method: str):
    from neuroreview.cbma.ale import ALE
    from neuroreview.cbma.mkda import MKDADensity

    if method == "mkda":
        return MKDADensity()
    return ALE(sample_size=20) if name == "neurostore" else ALE()


def our_coordinates(name: str, fitted_nimare):
    """Our CoordinateSet of the foci NiMARE analysed (its MNI coordinates, its experiments)."""
    import numpy as np

    from neuroreview.cbma.inputs import CoordinateSet

    table = fitted_nimare.inputs_["coordinates"].sort_values("id", kind="stable")
    ids, index = np.unique(table["id"].to_numpy(dtype=str), return_inverse=True)
    if name == "neurostore":
        sizes = np.full(ids.size, 20.0)
    elif "sample_size" in table:
        sizes = table.groupby("id", sort=True)["sample_size"].first().to_numpy(dtype=float)
    else:  # MKDA reads no sample sizes
        sizes = np.full(ids.size, np.nan)
    return CoordinateSet(tuple(ids), sizes, table[["x", "y", "z"]].to_numpy(float), index)


def measure(name: str, method: str):
    """Fit both tools, then time both FWE steps (2 workers)."""
    from nimare.correct import FWECorrector

    from neuroreview.cbma.inference import correct_fwe_montecarlo

    _quiet()
    estimator = nimare_estimator(name, method)
    start = time.perf_counter()
    theirs = estimator.fit(nimare_data(name))
    peer_fit = time.perf_counter() - start
    coordinates = our_coordinates(name, estimator)
    ours_estimator = our_estimator(name, method)
    start = time.perf_counter()
    ours = ours_estimator.fit(coordinates)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    correct_fwe_montecarlo(ours, n_iters=100, seed=1, n_jobs=N_JOBS)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    corrected = correct_fwe_montecarlo(ours, n_iters=N_ITERS, seed=0, n_jobs=N_JOBS)
    seconds = time.perf_counter() - start
    peer_iters = PEER_ITERS[name]
    corrector = FWECorrector(
        method="montecarlo", n_iters=peer_iters, voxel_thresh=0.001, n_cores=N_JOBS
    )
    start = time.perf_counter()
    corrector.transform(theirs)
    peer_seconds = time.perf_counter() - start
    return coordinates, {
        "dataset": name,
        "method": method,
        "experiments": coordinates.n_experiments,
        "foci": coordinates.n_foci,
        "fit_seconds": fit,
        "peer_fit_seconds": peer_fit,
        "warm_up_seconds": warm,
        "seconds": seconds,
        "n_iters_run": corrected.settings["n_iters_run"],
        "peer_iters": peer_iters,
        "peer_seconds": peer_seconds,
        "peer_seconds_scaled": peer_seconds * N_ITERS / peer_iters,
    }


def _child_memory(name: str, method: str, tool: str, coordinates: Path) -> float:
    completed = subprocess.run(
        [sys.executable, __file__, "--child-memory", name, method, tool, str(coordinates)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])["rss_increase_mib"]


def _child_memory_main(name: str, method: str, tool: str, coordinates: str) -> None:
    """Peak RSS increase of one process that reads, fits and runs 50 null iterations serially.

    Measured from after the imports (and, for us, after compiling on a tiny problem), so it
    includes the data and the fit: on the NeuroStore data the null alone stays below the
    fit's high-water mark. We read the coordinates NiMARE analysed from ``coordinates``.
    """
    import numpy as np
    from nimare.correct import FWECorrector

    from neuroreview.cbma.inference import correct_fwe_montecarlo
    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.montecarlo import warm_up

    _quiet()
    if tool == "ours":
        warm_up()
    before = _peak_rss_kib()
    if tool == "ours":
        saved = np.load(coordinates)
        ids = tuple(str(i) for i in saved["ids"])
        coords = CoordinateSet(ids, saved["sizes"], saved["xyz"], saved["index"])
        ours = our_estimator(name, method).fit(coords)
        correct_fwe_montecarlo(ours, n_iters=50, seed=0)
    else:
        theirs = nimare_estimator(name, method).fit(nimare_data(name))
        FWECorrector(method="montecarlo", n_iters=50, voxel_thresh=0.001).transform(theirs)
    print(json.dumps({"rss_increase_mib": (_peak_rss_kib() - before) / 1024}))


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(append: bool = True, memory: bool = True, datasets: tuple[str, ...] = DATASETS) -> dict:
    import numpy as np

    results = []
    for name in datasets:
        for method in ("ale", "mkda"):
            print(f"   {name} {method} ...", flush=True)
            coordinates, entry = measure(name, method)
            if memory:
                with tempfile.TemporaryDirectory() as folder:
                    saved = Path(folder) / "coordinates.npz"
                    np.savez(
                        saved,
                        ids=np.array(coordinates.experiment_ids),
                        sizes=coordinates.sample_sizes,
                        xyz=coordinates.xyz,
                        index=coordinates.experiment_index,
                    )
                    entry["rss_increase_mib"] = _child_memory(name, method, "ours", saved)
                    entry["peer_rss_increase_mib"] = _child_memory(name, method, "nimare", saved)
            results.append(entry)
    return publish(new_result("cbma", results=results, rows=_rows(results)), append)


def _rows(results: list[dict]) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in results:
        label = {"ale": "ALE", "mkda": "MKDA density"}[r["method"]]
        what = f"cbma: {r['dataset']} ({r['experiments']} exp., {r['foci']} foci) {label}"
        ms = 1000 * r["seconds"] / r["n_iters_run"]
        peer_ms = 1000 * r["peer_seconds"] / r["peer_iters"]
        ratio = r["peer_seconds_scaled"] / r["seconds"]
        rows.append(
            (
                f"{what} + Monte Carlo FWE, {N_ITERS:,} iterations, {N_JOBS} jobs (wall)",
                f"{r['seconds']:.1f} s ({ms:.2f} ms/iteration)",
                f"{r['peer_seconds_scaled']:.0f} s ({peer_ms:.1f} ms/iteration)",
                f"speed-up {ratio:.0f}x. Voxel, cluster-size and cluster-mass nulls, "
                f"cluster-forming p < 0.001. Peer timed at {r['peer_iters']:,} iterations "
                f"({r['peer_seconds']:.1f} s) and scaled linearly to {N_ITERS:,}. Ours after a "
                f"100-iteration warm-up ({r['warm_up_seconds']:.1f} s: worker start, numba "
                f"cache load). Fits: ours {r['fit_seconds']:.2f} s, peer "
                f"{r['peer_fit_seconds']:.2f} s, not included",
            )
        )
        if "rss_increase_mib" in r:
            rows.append(
                (
                    f"{what} fit + Monte Carlo null, peak RSS increase of one process",
                    f"{r['rss_increase_mib']:.0f} MiB",
                    f"{r['peer_rss_increase_mib']:.0f} MiB",
                    "reading, fit and 50 iterations run serially in a fresh child: VmHWM after "
                    "minus after the imports (ours: and after compiling); ours reads the "
                    "coordinates NiMARE analysed from a saved array",
                )
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--dataset", choices=DATASETS, action="append")
    parser.add_argument("--child-memory", nargs=4, metavar=("DATASET", "METHOD", "TOOL", "NPZ"))
    args = parser.parse_args(argv)
    if args.child_memory:
        _child_memory_main(*args.child_memory)
        return
    datasets = tuple(args.dataset) if args.dataset else DATASETS
    result = run(append=not args.no_append, memory=not args.no_memory, datasets=datasets)
    for measurement, ours, peer, _ in result["rows"]:
        print(f"   {measurement:100s} ours {ours:>24s}   peer {peer}")


if __name__ == "__main__":
    main()

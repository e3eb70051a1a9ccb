"""Benchmark: ``neuroreview analyze`` as a whole process against NiMARE doing the same job.

A user waits for the whole command, start-up included, not only for the Monte Carlo loop. Each
tool runs in a fresh interpreter on NiMARE's pain example (``nidm_pain_dset.json``: 21
experiments, 267 foci), reading that same file: ALE, then Monte Carlo FWE (voxel, cluster size
and cluster mass, cluster-forming p < 0.001) with 2 workers, then the maps written to disk
(ours also writes the cluster table with AAL3 labels and ``analysis.json``). At 1,000 and at
10,000 iterations, ours the median of ``--repeats`` runs with numba's cache warm, NiMARE once
(it takes minutes). A last row times our first run after installing: numba's cache empty
(``NUMBA_CACHE_DIR`` pointed at a new folder), so every compiled loop is compiled.

Run ``python benchmarks/bench_analyze.py`` (``--no-append`` to only print,
``--iterations 1000`` for one count). Needs NiMARE 0.22.1 (a test dependency).
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import new_result, publish  # noqa: E402

PEER = "NiMARE 0.22.1"
JOBS = 2
SEED = 1
ITERATIONS = (1_000, 10_000)

#: NiMARE's side, run as its own process: the same file, the same steps, timed inside too.
PEER_SCRIPT = """
import json, sys, time, warnings, logging
start = time.perf_counter()
warnings.simplefilter("ignore"); logging.disable(logging.WARNING)
from nimare.correct import FWECorrector
from nimare.dataset import Dataset
from nimare.meta.cbma import ALE
imported = time.perf_counter()
dataset = Dataset(sys.argv[1])
read = time.perf_counter()
result = ALE().fit(dataset)
fitted = time.perf_counter()
corrector = FWECorrector(method="montecarlo", voxel_thresh=0.001, n_iters=int(sys.argv[2]),
                         n_cores=int(sys.argv[3]))
corrected = corrector.transform(result)
done = time.perf_counter()
corrected.save_maps(output_dir=sys.argv[4])
saved = time.perf_counter()
print(json.dumps({"import": imported - start, "read": read - imported, "fit": fitted - read,
                  "fwe": done - fitted, "write": saved - done}))
"""


def pain_file() -> Path:
    import nimare

    return Path(nimare.__file__).parent / "resources" / "nidm_pain_dset.json"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1", **extra}


def ours(iterations: int, cache: str | None = None) -> tuple[float, dict]:
    """Wall time of one `neuroreview analyze` process and its analysis.json timings."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ale"
        env = _env(**({"NUMBA_CACHE_DIR": cache} if cache else {}))
        command = [sys.executable, "-m", "neuroreview", "analyze", str(pain_file())]
        options = ["--iterations", str(iterations), "--seed", str(SEED), "--jobs", str(JOBS)]
        start = time.perf_counter()
        subprocess.run(
            [*command, *options, "--out", str(out)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - start
        record = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    return seconds, record["timings_s"]


def peer(iterations: int) -> tuple[float, dict]:
    """Wall time of one NiMARE process doing the same, and its in-process step times."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        finished = subprocess.run(
            [
                sys.executable,
                "-c",
                PEER_SCRIPT,
                str(pain_file()),
                str(iterations),
                str(JOBS),
                folder,
            ],
            check=True,
            env=_env(),
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    return seconds, json.loads(finished.stdout.strip().splitlines()[-1])


def _steps(timings: dict) -> str:
    return ", ".join(f"{name} {value:.2f} s" for name, value in timings.items())


def run(repeats: int = 3, append: bool = True, iterations: tuple[int, ...] = ITERATIONS) -> dict:
    result = new_result("analyze", rows=[])
    ours(100)  # numba's cache warm for the timed runs
    warm_1000 = None
    for count in iterations:
        runs = [ours(count) for _ in range(repeats)]
        seconds = statistics.median(s for s, _ in runs)
        if count == 1_000:
            warm_1000 = seconds
        peer_seconds, peer_steps = peer(count)
        fit_fwe = runs[-1][1]["fit"] + runs[-1][1]["fwe_montecarlo"]
        peer_fit_fwe = peer_steps["fit"] + peer_steps["fwe"]
        result["rows"].append(
            (
                f"analyze: `neuroreview analyze` pain (21 exp., 267 foci) ALE + Monte Carlo "
                f"FWE, {count:,} iterations, {JOBS} jobs, whole process (wall)",
                f"{seconds:.1f} s",
                f"{peer_seconds:.1f} s",
                f"whole-process speed-up {peer_seconds / seconds:.1f}x; fit + FWE alone: ours "
                f"{fit_fwe:.2f} s, peer {peer_fit_fwe:.1f} s ({peer_fit_fwe / fit_fwe:.0f}x). "
                f"Ours: median of {repeats} fresh processes, numba cache warm, threads; "
                f"last run's steps: {_steps(runs[-1][1])}; the rest is interpreter start and "
                f"imports. Peer ({PEER}, FWECorrector montecarlo, n_cores={JOBS}), once, in a "
                f"fresh process: {_steps(peer_steps)}. Both read nidm_pain_dset.json and write "
                "their maps; ours also writes clusters.tsv with AAL3 labels",
            )
        )
    with tempfile.TemporaryDirectory() as cache:
        cold, steps = ours(1_000, cache=cache)
    warm = f"; the same with the cache warm: {warm_1000:.1f} s" if warm_1000 else ""
    result["rows"].append(
        (
            "analyze: first `neuroreview analyze` after installing (numba cache empty), pain "
            f"ALE + Monte Carlo FWE, 1,000 iterations, {JOBS} jobs, whole process (wall)",
            f"{cold:.1f} s",
            "n/a",
            f"once, NUMBA_CACHE_DIR set to a new empty folder, so every compiled loop "
            f"(kernel painting, Monte Carlo) is compiled and cached{warm}; steps: "
            f"{_steps(steps)}. NiMARE compiles nothing (its 1,000-iteration time is the row "
            "above)",
        )
    )
    return publish(result, append)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, action="append")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    counts = tuple(args.iterations) if args.iterations else ITERATIONS
    for measurement, mine, theirs, notes in run(args.repeats, not args.no_append, counts)["rows"]:
        print(f"{measurement}: ours {mine}, peer {theirs} ({notes})")

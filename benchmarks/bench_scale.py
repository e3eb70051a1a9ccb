"""Benchmark: coordinate-based meta-analysis at Neurosynth scale, and Monte Carlo on Dask.

Run ``python benchmarks/bench_scale.py`` (``--quick`` checks the script in about a minute at
tiny sizes; ``--no-append`` only prints). Needs the Neurosynth v0.7 files in
``../shared/data/neurosynth`` (or ``--data FOLDER``, or ``NEUROREVIEW_NEUROSYNTH_DIR``) and
``distributed`` (a test dependency). The Neurosynth files are read once in this process (one
experiment per study; Talairach foci converted to MNI, studies of unknown space kept as MNI,
as for the topic maps), saved as arrays, and every measurement runs in a fresh child process
that loads them, so its peak RSS (VmHWM after the step minus VmHWM after the imports and the
compilation of the kernels on a tiny problem) is its own.

Measurements:

1. MKDA density fit over all 14,371 studies (507,891 foci); MKDA chi-square fit (the studies
   of one LDA50 topic, weight >= 0.05 as ``tools/build_topic_maps.py`` defines membership,
   against all the others) followed by its Benjamini-Hochberg FDR, as Neurosynth reports it:
   wall time and peak RSS of each (target: under 60 s and 4 GB). Then a short voxel- and
   cluster-level Monte Carlo FWE of the density fit (``--mc-iters``, 2 threads) for its cost
   per iteration and the projected cost of 10,000.
2. ALE on a seeded random subset of 1,000 studies (``--ale-studies``, seed ``--ale-seed``),
   every sample size 20 (Neurosynth records none), with voxel- and cluster-level Monte Carlo
   FWE (cluster-forming p < 0.001) on a Dask ``LocalCluster`` of 1 and then 2 single-threaded
   worker processes: the 2-worker wall time at ``--ale-iters``, the speed-up 1 -> 2 workers
   at ``--speedup-iters`` (the same seed on both clusters, so the nulls are checked to be the
   same bytes), the peak RSS of one worker; the per-task cost (one block of
   ``BLOCK_ITERATIONS`` iterations, timed on its first 20 in this process and scaled), the
   payload (pickled size, scatter time to 1 and 2 workers) and the scheduler's cost per task
   (a no-op task's round trip, and the amortised cost of 200 no-ops submitted at once); and
   from them a projection to 16 and 64 workers, whose reasoning the row's note gives.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import new_result, publish  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(
    os.environ.get("NEUROREVIEW_NEUROSYNTH_DIR", ROOT.parent / "shared" / "data" / "neurosynth")
)
#: The LDA50 topic compared with all other studies by MKDA chi-square.
TOPIC = 0
ALE_STUDIES = 1_000
ALE_SEED = 0
ALE_SAMPLE_SIZE = 20
ALE_ITERS = 10_000
SPEEDUP_ITERS = 1_000
#: Two blocks of 100 iterations, so both threads work.
MC_ITERS = 200
#: Iterations timed in the driver process for the cost of one block (scaled to the block).
BLOCK_SAMPLE = 20
MC_JOBS = 2
#: Targets of the issue for the whole-database MKDA fits.
TARGET_SECONDS = 60.0
TARGET_GIB = 4.0
PROJECT_WORKERS = (16, 64)
#: Bandwidth assumed for one copy of the payload on a real cluster (1 Gbit/s Ethernet).
NETWORK_MB_PER_S = 125.0
QUICK = {
    "studies": 200,
    "ale_studies": 200,
    "ale_iters": 200,
    "speedup_iters": 200,
    "mc_iters": 200,
}


# --- helpers shared by the parent and the children ------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_mib() -> float:
    return _status_kib("VmHWM") / 1024


def _load(arrays: Path, n_studies: int | None = None, seed: int | None = None):
    """The saved studies as a CoordinateSet (and topic membership), optionally a seeded subset."""
    import numpy as np

    from neuroreview.cbma.inputs import CoordinateSet

    saved = np.load(arrays)
    ids = tuple(str(i) for i in saved["ids"])
    sizes = np.full(len(ids), np.nan)
    coordinates = CoordinateSet(ids, sizes, saved["xyz"], saved["index"])
    member = saved["member"]
    if n_studies is not None and n_studies < len(ids):
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(ids), size=n_studies, replace=False))
        coordinates = coordinates.subset([ids[i] for i in keep])
        member = member[keep]
    return coordinates, member


def _tiny(coordinates, n: int = 20):
    return coordinates.subset(coordinates.experiment_ids[:n])


def _quiet() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # foci outside the mask are logged once per fit


# --- child: MKDA density and chi-square over the database ------------------------------------


def child_mkda(arrays: str, options: dict) -> dict:
    from neuroreview.cbma import MKDAChi2, MKDADensity, correct_fwe_montecarlo
    from neuroreview.cbma.base import AnalysisSpace
    from neuroreview.cbma.ma import sphere_totals
    from neuroreview.cbma.montecarlo import warm_up

    _quiet()
    coordinates, member = _load(Path(arrays), options["studies"], options["seed"])
    ids = coordinates.experiment_ids
    selected = coordinates.subset([i for i, m in zip(ids, member, strict=True) if m])
    rest = coordinates.subset([i for i, m in zip(ids, member, strict=True) if not m])
    warm_up()
    # Compile (or load) the sphere kernel on a tiny problem: no mask-sized maps are made, so
    # the step's maps count in its peak.
    sphere_totals(_tiny(coordinates), AnalysisSpace.default())
    out: dict = {
        "studies": coordinates.n_experiments,
        "foci": coordinates.n_foci,
        "n_selected": selected.n_experiments,
        "n_rest": rest.n_experiments,
    }
    if options["step"] == "density":
        base = _peak_mib()
        start = time.perf_counter()
        result = MKDADensity().fit(coordinates)
        out["fit_seconds"] = time.perf_counter() - start
        out["fit_peak_mib"] = _peak_mib() - base
        out["fit_process_peak_mib"] = _peak_mib()
        start = time.perf_counter()
        corrected = correct_fwe_montecarlo(
            result, n_iters=options["mc_iters"], seed=0, n_jobs=MC_JOBS
        )
        out["mc_seconds"] = time.perf_counter() - start
        out["mc_iters"] = corrected.settings["n_iters_run"]
        out["mc_peak_mib"] = _peak_mib() - base
    else:
        estimator = MKDAChi2()
        base = _peak_mib()
        start = time.perf_counter()
        result = estimator.fit(selected, rest)
        out["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        estimator.correct_fdr(result)
        out["fdr_seconds"] = time.perf_counter() - start
        out["fit_peak_mib"] = _peak_mib() - base
    out["process_peak_mib"] = _peak_mib()
    return out


# --- child: ALE and its Monte Carlo on Dask --------------------------------------------------


def _noop(i: int) -> int:
    return i


def _worker_memory() -> dict:
    """Run on a worker: its VmHWM and VmRSS (MiB)."""
    return {"hwm": _status_kib("VmHWM") / 1024, "rss": _status_kib("VmRSS") / 1024}


def _worker_imports() -> dict:
    """Run on a fresh worker: import what a task needs (not the kernels), then its memory."""
    import neuroreview.cbma.dask_executor  # noqa: F401
    import neuroreview.cbma.montecarlo  # noqa: F401

    return _worker_memory()


def _executed(dask_worker) -> int:
    """Run on a worker: how many tasks it has executed."""
    return int(dask_worker.state.executed_count)


def _worker_warm_up() -> float:
    """Run on a worker: load (or compile) the Monte Carlo kernels; seconds taken."""
    from neuroreview.cbma.montecarlo import warm_up

    start = time.perf_counter()
    warm_up()
    return time.perf_counter() - start


def _costs(client, problem, n: int = 30) -> dict:
    """Scatter time of the payload, a no-op task's round trip, the amortised cost per task."""
    scatters = []
    for _ in range(3):
        start = time.perf_counter()
        future = client.scatter(problem, broadcast=True, hash=False)  # returns once replicated
        scatters.append(time.perf_counter() - start)
        future.release()
        del future
    trips = []
    for i in range(n):
        start = time.perf_counter()
        client.submit(_noop, i, pure=False).result()
        trips.append(time.perf_counter() - start)
    start = time.perf_counter()
    client.gather(client.map(_noop, range(200), pure=False))
    batch = (time.perf_counter() - start) / 200
    return {
        "scatter_seconds": statistics.median(scatters),
        "round_trip_seconds": statistics.median(trips),
        "per_task_seconds": batch,
    }


def _on_cluster(n_workers: int, result, problem, iters: list[int]) -> dict:
    from distributed import Client, LocalCluster
    from distributed.client import FutureCancelledError as CancelledError

    from neuroreview.cbma import correct_fwe_montecarlo
    from neuroreview.cbma.dask_executor import DaskExecutor

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    out: dict = {"workers": n_workers, "start_seconds": time.perf_counter() - start}
    try:
        after_imports = client.run(_worker_imports)
        executor = DaskExecutor(client)
        # Each worker loads the compiled kernels once (what a first call would also pay).
        out["kernel_load_seconds"] = max(client.run(_worker_warm_up).values())
        out |= _costs(client, problem)
        executed = client.run(_executed)
        runs = {}
        for n_iters in iters:
            for attempt in range(2):  # a long run is retried once if the cluster loses it
                start = time.perf_counter()
                try:
                    corrected = correct_fwe_montecarlo(
                        result, n_iters=n_iters, seed=0, executor=executor
                    )
                except CancelledError as error:
                    if attempt:
                        raise
                    print(f"retrying {n_iters} iterations: {error}", file=sys.stderr)
                    out["retried"] = out.get("retried", 0) + 1
                    continue
                break
            seconds = time.perf_counter() - start
            digest = _null_digest(corrected)
            runs[str(n_iters)] = {"seconds": seconds, "null_sha256": digest}
        out["runs"] = runs
        after_runs = client.run(_executed)
        out["tasks_per_worker"] = sorted(after_runs[w] - executed[w] for w in after_runs)
        after = client.run(_worker_memory)
        out["worker_peak_mib"] = max(m["hwm"] for m in after.values())
        out["worker_peak_increase_mib"] = max(
            after[w]["hwm"] - after_imports[w]["hwm"] for w in after
        )
    finally:
        client.close()
        cluster.close()
    return out


def _null_digest(result) -> str:
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for key in sorted(result.null_distributions):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(result.null_distributions[key]).tobytes())
    return digest.hexdigest()


def child_ale(arrays: str, options: dict) -> dict:
    import pickle

    import numpy as np

    from neuroreview.cbma import ALE
    from neuroreview.cbma.inputs import CoordinateSet
    from neuroreview.cbma.montecarlo import (
        BLOCK_ITERATIONS,
        Block,
        _setup,
        _work,
        seeded_blocks,
        warm_up,
    )

    _quiet()
    sample, _ = _load(Path(arrays), options["ale_studies"], options["ale_seed"])
    coordinates = CoordinateSet(
        sample.experiment_ids,
        np.full(sample.n_experiments, float(ALE_SAMPLE_SIZE)),
        sample.xyz,
        sample.experiment_index,
    )
    warm_up()
    ALE(sample_size=ALE_SAMPLE_SIZE).fit(_tiny(coordinates))
    base = _peak_mib()
    estimator = ALE(sample_size=ALE_SAMPLE_SIZE)
    start = time.perf_counter()
    result = estimator.fit(coordinates)
    out: dict = {
        "studies": coordinates.n_experiments,
        "foci": coordinates.n_foci,
        "fit_seconds": time.perf_counter() - start,
        "fit_peak_mib": _peak_mib() - base,
        "block_iterations": BLOCK_ITERATIONS,
    }
    problem = estimator.null_problem(float(estimator.p_to_summarystat(0.001)))
    out["payload_mb"] = len(pickle.dumps(problem, protocol=5)) / 1e6
    start = time.perf_counter()
    engine = _setup(problem)
    out["setup_seconds"] = time.perf_counter() - start
    # One block's cost from its first BLOCK_SAMPLE iterations (a full block of 1,000 studies
    # takes about a minute): iterations cost the same whatever their index.
    first = next(seeded_blocks(BLOCK_ITERATIONS, 0, None))
    _work(engine, Block(first.index, 1, first.seed, None))
    start = time.perf_counter()
    _work(engine, Block(first.index, BLOCK_SAMPLE, first.seed, None))
    out["block_seconds"] = (time.perf_counter() - start) * BLOCK_ITERATIONS / BLOCK_SAMPLE
    del engine
    speedup, headline = options["speedup_iters"], options["ale_iters"]
    out["clusters"] = [
        _on_cluster(1, result, problem, [speedup]),
        _on_cluster(2, result, problem, sorted({speedup, headline})),
    ]
    out["driver_peak_mib"] = _peak_mib() - base
    return out


CHILDREN = {"mkda": child_mkda, "ale": child_ale}


def _child(kind: str, arrays: Path, options: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(arrays), json.dumps(options)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"the {kind} child failed ({completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- the parent ------------------------------------------------------------------------------


def _save_inputs(data: Path, folder: Path, topic: int) -> tuple[Path, dict]:
    import numpy as np

    from neuroreview.decode._neurosynth_topics import topic_inputs
    from neuroreview.decode.topic_maps import TOPIC_THRESHOLD
    from neuroreview.io.neurosynth import read_topic_files

    _quiet()
    start = time.perf_counter()
    inputs = topic_inputs(*read_topic_files(data))
    seconds = time.perf_counter() - start
    coordinates = inputs.coordinates
    path = folder / "neurosynth.npz"
    np.savez(
        path,
        ids=np.array(coordinates.experiment_ids),
        xyz=coordinates.xyz,
        index=coordinates.experiment_index,
        member=inputs.weights[:, topic] >= TOPIC_THRESHOLD,
    )
    info = {
        "read_seconds": seconds,
        "studies": coordinates.n_experiments,
        "foci": coordinates.n_foci,
        "topic": inputs.topic_ids[topic],
        "studies_by_space": inputs.studies_by_space,
    }
    return path, info


def run(
    data: Path = DATA,
    *,
    append: bool = True,
    quick: bool = False,
    studies: int | None = None,
    ale_studies: int = ALE_STUDIES,
    ale_seed: int = ALE_SEED,
    ale_iters: int = ALE_ITERS,
    speedup_iters: int = SPEEDUP_ITERS,
    mc_iters: int = MC_ITERS,
    topic: int = TOPIC,
    parts: tuple[str, ...] = ("mkda", "ale"),
) -> dict:
    """Measure, optionally append the rows to RESULTS.md, and return everything as a dict."""
    if quick:
        studies, ale_studies = QUICK["studies"], QUICK["ale_studies"]
        ale_iters, speedup_iters, mc_iters = (
            QUICK["ale_iters"],
            QUICK["speedup_iters"],
            QUICK["mc_iters"],
        )
    if not (data / "data-neurosynth_version-7_coordinates.tsv.gz").is_file():
        raise SystemExit(f"the Neurosynth v0.7 files are not in {data}")
    options = {
        "studies": studies,
        "seed": ale_seed,
        "ale_studies": ale_studies,
        "ale_seed": ale_seed,
        "ale_iters": ale_iters,
        "speedup_iters": speedup_iters,
        "mc_iters": mc_iters,
    }
    result = new_result("scale", quick=quick, options=options)
    with tempfile.TemporaryDirectory() as folder:
        arrays, result["inputs"] = _save_inputs(data, Path(folder), topic)
        if "mkda" in parts:
            print("   MKDA density ...", flush=True)
            result["density"] = _child("mkda", arrays, options | {"step": "density"})
            print("   MKDA chi-square ...", flush=True)
            result["chi2"] = _child("mkda", arrays, options | {"step": "chi2"})
        if "ale" in parts:
            print("   ALE on Dask (1 and 2 workers) ...", flush=True)
            result["ale"] = _child("ale", arrays, options)
            result["projection"] = projection(result["ale"], ale_iters)
    result["rows"] = _rows(result)
    return publish(result, append)


# --- the projection --------------------------------------------------------------------------


def projection(ale: dict, n_iters: int) -> dict:
    """Wall time of ``n_iters`` ALE iterations on w workers, from the measured costs.

    T(w) = fixed + scatter(w) + ceil(n_blocks / w) * t_block + overhead(w), where

    - t_block: one block's compute, timed in the driver process (one core, kernels loaded);
    - scatter(w): the payload reaches every worker once; scatter(1) as measured, each further
      worker adds the larger of the measured increment (1 -> 2 workers, loopback) and one copy
      at 1 Gbit/s (linear: an upper bound, Dask's replication fans out from several holders);
    - overhead(w): the larger of the scheduler's serial cost (n_blocks x the amortised cost of
      one no-op task) and each worker's tasks paying one round trip each (an upper bound: two
      tasks per worker thread are kept in flight, so a worker rarely waits);
    - fixed: what the model leaves out of the 2-worker run (engine build on each worker, the
      driver's work after the null: cluster measures, p maps), calibrated on that run; the
      1-worker run checks the model.
    """
    from neuroreview.cbma.montecarlo import BLOCK_ITERATIONS

    one, two = ale["clusters"]
    t_block = ale["block_seconds"]
    step = max(
        two["scatter_seconds"] - one["scatter_seconds"], ale["payload_mb"] / NETWORK_MB_PER_S
    )

    def scatter(w: int) -> float:
        return one["scatter_seconds"] + (w - 1) * step

    def overhead(w: int, blocks: int) -> float:
        return max(
            blocks * two["per_task_seconds"], math.ceil(blocks / w) * two["round_trip_seconds"]
        )

    def variable(w: int, iters: int) -> float:
        blocks = -(-iters // BLOCK_ITERATIONS)
        return scatter(w) + math.ceil(blocks / w) * t_block + overhead(w, blocks)

    calibrate = max(two["runs"], key=int)
    fixed = max(two["runs"][calibrate]["seconds"] - variable(2, int(calibrate)), 0.0)
    check_iters = int(next(iter(one["runs"])))
    n_blocks = -(-n_iters // BLOCK_ITERATIONS)
    workers = (1, 2, *PROJECT_WORKERS, n_blocks)
    times = {w: fixed + variable(w, n_iters) for w in workers}
    return {
        "n_iters": n_iters,
        "n_blocks": n_blocks,
        "t_block": t_block,
        "fixed": fixed,
        "scatter_step": step,
        "seconds": {str(w): t for w, t in times.items()},
        "check_1_worker": {
            "iters": check_iters,
            "predicted": fixed + variable(1, check_iters),
            "measured": one["runs"][str(check_iters)]["seconds"],
        },
    }


# --- rows ------------------------------------------------------------------------------------


def _rows(result: dict) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    inputs = result["inputs"]
    quick = " [--quick]" if result["quick"] else ""
    if "density" in result:
        rows += _mkda_rows(result, inputs, quick)
    if "ale" in result:
        rows += _ale_rows(result, quick)
    return rows


def _mkda_rows(result: dict, inputs: dict, quick: str) -> list[tuple[str, str, str, str]]:
    density, chi2 = result["density"], result["chi2"]
    what = f"{density['studies']:,} Neurosynth studies ({density['foci']:,} foci)"
    spaces = inputs["studies_by_space"]
    read = (
        f"Neurosynth v0.7 read once ({inputs['read_seconds']:.1f} s, not included: "
        f"{spaces['MNI']:,} MNI, {spaces['TAL']:,} Talairach converted to MNI, "
        f"{spaces['UNKNOWN']:,} of unknown space kept as MNI) and saved as arrays; each step in "
        "a fresh child process after compiling on 20 studies"
    )
    memory = (
        "VmHWM after the step (maps included) minus VmHWM after the imports, the loaded "
        "arrays and compiling on 20 studies, in a fresh child"
    )
    target = f"target under {TARGET_SECONDS:.0f} s and {TARGET_GIB:.0f} GB"
    per_iter = density["mc_seconds"] / density["mc_iters"]
    chi2_what = (
        f"topic {inputs['topic']} ({chi2['n_selected']:,} studies with weight >= 0.05) vs the "
        f"other {chi2['n_rest']:,}"
    )
    return [
        (
            f"scale: MKDA density fit, {what} (wall){quick}",
            f"{density['fit_seconds']:.1f} s",
            "n/a",
            f"MKDADensity() (r = 10 mm, unweighted), analytic null included; {read}; {target}",
        ),
        (
            f"scale: MKDA density fit, {what}, peak RSS increase{quick}",
            f"{density['fit_peak_mib']:.0f} MiB",
            "n/a",
            f"{memory}; the whole process's peak {density['fit_process_peak_mib']:.0f} MiB; "
            "the per-study sphere unions are streamed into the sums, no (studies x voxels) "
            f"matrix is held; {target}",
        ),
        (
            f"scale: MKDA chi-square fit + FDR, {what} (wall){quick}",
            f"{chi2['fit_seconds'] + chi2['fdr_seconds']:.1f} s",
            "n/a",
            f"MKDAChi2() {chi2_what}, fit {chi2['fit_seconds']:.1f} s + Benjamini-Hochberg FDR "
            f"of the uniformity, group 2 and association tests {chi2['fdr_seconds']:.1f} s "
            f"(as Neurosynth reports its maps); {read}; {target}",
        ),
        (
            f"scale: MKDA chi-square fit + FDR, {what}, peak RSS increase{quick}",
            f"{chi2['fit_peak_mib']:.0f} MiB",
            "n/a",
            f"{memory}; the whole process's peak {chi2['process_peak_mib']:.0f} MiB; "
            f"counts streamed, no indicator matrix; {target}",
        ),
        (
            f"scale: MKDA density Monte Carlo FWE, {what}, {MC_JOBS} threads{quick}",
            f"{1000 * per_iter:.0f} ms/iteration",
            "n/a",
            f"{density['mc_iters']} iterations (voxel, cluster-size and cluster-mass nulls, "
            f"cluster-forming p < 0.001) in {density['mc_seconds']:.1f} s, two blocks of 100 so "
            f"both threads work; 10,000 iterations projected at {10_000 * per_iter / 60:.0f} min "
            f"(linear); peak RSS increase of fit + null {density['mc_peak_mib']:.0f} MiB",
        ),
    ]


def _ale_rows(result: dict, quick: str) -> list[tuple[str, str, str, str]]:
    ale, proj, opts = result["ale"], result["projection"], result["options"]
    one, two = ale["clusters"]
    what = (
        f"ALE, {ale['studies']:,} random Neurosynth studies (seed {opts['ale_seed']}, "
        f"{ale['foci']:,} foci, every N = {ALE_SAMPLE_SIZE})"
    )
    speedup_iters, iters = opts["speedup_iters"], opts["ale_iters"]
    t1 = one["runs"][str(speedup_iters)]["seconds"]
    t2 = two["runs"][str(speedup_iters)]["seconds"]
    t_head = two["runs"][str(iters)]["seconds"]
    same = (
        one["runs"][str(speedup_iters)]["null_sha256"]
        == two["runs"][str(speedup_iters)]["null_sha256"]
    )
    cluster = (
        "Dask LocalCluster(n_workers=k, threads_per_worker=1, processes=True) on this machine, "
        "after each worker loaded the compiled kernels "
        f"({one['kernel_load_seconds']:.1f} s on 1 worker, {two['kernel_load_seconds']:.1f} s "
        f"on 2; cluster start {two['start_seconds']:.1f} s; neither included)"
    )
    secs = proj["seconds"]
    n_blocks = proj["n_blocks"]
    serial = secs["1"]
    projected = ", ".join(
        f"{w} workers {secs[str(w)]:.0f} s ({serial / secs[str(w)]:.1f}x)" for w in PROJECT_WORKERS
    )
    check = proj["check_1_worker"]
    lost = one.get("retried", 0) + two.get("retried", 0)
    retried = f" ({lost} run(s) lost by the cluster and retried once)" if lost else ""
    rounds = -(-n_blocks // PROJECT_WORKERS[-1])
    return [
        (
            f"scale: {what}, fit (wall){quick}",
            f"{ale['fit_seconds']:.1f} s",
            "n/a",
            f"ALE(sample_size={ALE_SAMPLE_SIZE}), histogram null included, one process; peak RSS "
            f"increase {ale['fit_peak_mib']:.0f} MiB (VmHWM in a fresh child after imports and "
            "compiling)",
        ),
        (
            f"scale: {what} + Monte Carlo FWE, {iters:,} iterations, 2 Dask workers (wall){quick}",
            f"{t_head:.1f} s ({1000 * t_head / iters:.1f} ms/iteration)",
            "n/a",
            f"voxel, cluster-size and cluster-mass nulls, cluster-forming p < 0.001, seed 0; "
            f"{cluster}",
        ),
        (
            f"scale: {what} Monte Carlo FWE, speed-up 1 -> 2 Dask workers{quick}",
            f"{t1 / t2:.2f}x",
            "n/a",
            f"{speedup_iters:,} iterations on each cluster{retried}: 1 worker {t1:.1f} s "
            f"({1000 * t1 / speedup_iters:.1f} ms/iteration), 2 workers {t2:.1f} s; same seed, "
            f"nulls {'identical' if same else 'DIFFERENT'} (sha256); tasks run per worker on the "
            f"2-worker cluster {'/'.join(map(str, two['tasks_per_worker']))}; 2 cores, so the "
            f"driver and scheduler share them with the 2 workers; {cluster}",
        ),
        (
            f"scale: {what} Monte Carlo FWE, peak RSS of one Dask worker{quick}",
            f"{two['worker_peak_increase_mib']:.0f} MiB",
            "n/a",
            f"largest worker VmHWM increase over its VmHWM after importing the engine, after "
            f"all runs on the 2-worker cluster; absolute VmHWM {two['worker_peak_mib']:.0f} MiB "
            f"(1-worker cluster: {one['worker_peak_increase_mib']:.0f} MiB increase); driver "
            f"process (fit, maps, client) {ale['driver_peak_mib']:.0f} MiB increase",
        ),
        (
            f"scale: {what} Monte Carlo, per-task and communication costs{quick}",
            f"{1000 * ale['block_seconds']:.0f} ms/task",
            "n/a",
            f"one task = one block of {ale['block_iterations']} iterations, timed on its first "
            f"{BLOCK_SAMPLE} in the driver process and scaled (engine built once, "
            f"{ale['setup_seconds']:.2f} s); payload (the "
            f"NullProblem) {ale['payload_mb']:.1f} MB pickled, scattered to every worker once "
            f"per run in {1000 * one['scatter_seconds']:.0f} ms (1 worker) / "
            f"{1000 * two['scatter_seconds']:.0f} ms (2 workers); no-op task round trip "
            f"{1000 * two['round_trip_seconds']:.1f} ms, amortised scheduler cost "
            f"{1000 * two['per_task_seconds']:.2f} ms/task (200 no-ops at once)",
        ),
        (
            f"scale: {what} Monte Carlo FWE, {iters:,} iterations, projected to 16 and 64 "
            f"workers{quick}",
            f"{secs['16']:.0f} s / {secs['64']:.0f} s",
            "n/a",
            f"T(w) = fixed + scatter(w) + ceil(n_blocks/w) x t_block + overhead(w): "
            f"{n_blocks} blocks of 100 iterations (the block is the unit of the random stream, so "
            f"results never depend on w), t_block {1000 * proj['t_block']:.0f} ms; scatter(w) "
            f"grows by {1000 * proj['scatter_step']:.0f} ms per worker (the larger of the "
            f"loopback increment and one {ale['payload_mb']:.1f} MB copy at 1 Gbit/s, an upper "
            f"bound); overhead(w) the larger of n_blocks x the scheduler's per-task cost and "
            f"ceil(n_blocks/w) round trips (an upper bound, 2 tasks per thread are in flight); "
            f"fixed {proj['fixed']:.1f} s (engine build per worker, driver's cluster measures "
            f"and maps), calibrated on the 2-worker run; the model gives "
            f"{check['predicted']:.1f} s for the 1-worker run at {check['iters']:,} iterations, "
            f"measured {check['measured']:.1f} s. 1 worker {serial:.0f} s; {projected}. Amdahl: "
            f"at 64 workers the busiest runs {rounds} of the {n_blocks} tasks, as it would with "
            f"{-(-n_blocks // rounds)} workers, so compute is {rounds} x t_block; from "
            f"{n_blocks} workers on it is 1 x t_block and T stops falling: "
            f"{secs[str(n_blocks)]:.0f} s, a {serial / secs[str(n_blocks)]:.1f}x limit set by "
            "the fixed part, the scatter and one block; more speed needs smaller blocks, which "
            "would change the random stream (and so the bytes of every result)",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the Neurosynth files")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    parser.add_argument("--studies", type=int, help="MKDA on a seeded subset (default: all)")
    parser.add_argument("--ale-studies", type=int, default=ALE_STUDIES)
    parser.add_argument("--ale-seed", type=int, default=ALE_SEED)
    parser.add_argument("--ale-iters", type=int, default=ALE_ITERS)
    parser.add_argument("--speedup-iters", type=int, default=SPEEDUP_ITERS)
    parser.add_argument("--mc-iters", type=int, default=MC_ITERS)
    parser.add_argument("--topic", type=int, default=TOPIC, help="LDA50 topic index for chi2")
    parser.add_argument("--only", choices=("mkda", "ale"), action="append")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "NPZ", "OPTIONS"))
    args = parser.parse_args(argv)
    if args.child:
        kind, arrays, options = args.child
        print(json.dumps(CHILDREN[kind](arrays, json.loads(options))))
        return
    result = run(
        args.data,
        append=not args.no_append,
        quick=args.quick,
        studies=args.studies,
        ale_studies=args.ale_studies,
        ale_seed=args.ale_seed,
        ale_iters=args.ale_iters,
        speedup_iters=args.speedup_iters,
        mc_iters=args.mc_iters,
        topic=args.topic,
        parts=tuple(args.only) if args.only else ("mkda", "ale"),
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    for measurement, ours, _, notes in result["rows"]:
        print(f"   {measurement}: {ours}\n      {notes}")
    if not args.no_append:
        print("rows appended to RESULTS.md")


if __name__ == "__main__":
    main()

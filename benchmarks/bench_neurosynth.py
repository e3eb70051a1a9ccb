"""Benchmark: loading the Neurosynth v0.7 database, against NiMARE in the same run.

Run ``python benchmarks/bench_neurosynth.py`` (add ``--no-peer`` to skip NiMARE's ~16 s). It
prints the measurements and appends one row per measurement to ``benchmarks/RESULTS.md``.
A top-level runner can call :func:`run` instead.

Measurements:

- wall time of ``read_neurosynth`` on the two ``.tsv.gz`` files, median of 3 runs;
- peak memory of one load, two ways: the tracemalloc peak (Python and numpy allocations, in
  this process) and the increase of the peak resident set size (VmHWM from /proc, else
  ``ru_maxrss``) over the same child process's peak right after its imports, so each reader is
  measured alone, unpolluted by whatever ran before;
- wall time of ``to_studies()`` for all 14,371 studies;
- the peer: NiMARE's ``convert_neurosynth_to_dataset`` on the same files, timed once, with its
  peak RSS increase measured the same way. NiMARE also converts Talairach foci to MNI, which we
  leave to the caller; its time includes that.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

from _results import RESULTS, new_result, publish

# Single-threaded BLAS, as for every benchmark here. The standard library above does not load
# numpy, which is imported only inside the functions below, so this still takes effect.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

DATA = Path(
    os.environ.get(
        "NEUROREVIEW_NEUROSYNTH_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "neurosynth",
    )
)
COORDINATES = "data-neurosynth_version-7_coordinates.tsv.gz"
METADATA = "data-neurosynth_version-7_metadata.tsv.gz"
PEER = "NiMARE 0.22.1"


def _paths(data: Path) -> tuple[Path, Path]:
    coordinates, metadata = data / COORDINATES, data / METADATA
    if not (coordinates.exists() and metadata.exists()):
        raise SystemExit(f"the Neurosynth v0.7 files are not in {data}")
    return coordinates, metadata


def _load_ours(coordinates: Path, metadata: Path):
    from neuroreview.io.neurosynth import read_neurosynth

    return read_neurosynth(coordinates, metadata)


def _load_nimare(coordinates: Path, metadata: Path):
    from nimare.io import convert_neurosynth_to_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NiMARE's deprecation notice about Dataset
        return convert_neurosynth_to_dataset(str(coordinates), str(metadata))


LOADERS = {"ours": _load_ours, "nimare": _load_nimare}


def _child_rss(which: str, data: Path) -> dict:
    """Peak-RSS increase of one load, measured in a fresh interpreter (see module docstring)."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child-rss", which, "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child_main(which: str, data: Path) -> None:
    coordinates, metadata = _paths(data)
    import pandas  # noqa: F401

    import neuroreview.io.neurosynth  # noqa: F401  (imports are not part of the load)

    if which == "nimare":
        import nimare.io  # noqa: F401
    before = _peak_rss_kib()
    start = time.perf_counter()
    LOADERS[which](coordinates, metadata)
    seconds = time.perf_counter() - start
    after = _peak_rss_kib()
    print(json.dumps({"rss_increase_mib": (after - before) / 1024, "seconds": seconds}))


def _peak_rss_kib() -> int:
    """This process's peak resident set size in KiB.

    VmHWM from /proc where there is one: on Linux, ``ru_maxrss`` of a freshly started child
    keeps its parent's peak (the kernel carries it across fork and exec), so it would report the
    benchmark parent's memory instead of the child's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def _timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def _tracemalloc_peak_mib(function, *args) -> float:
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run(data: Path = DATA, repeats: int = 3, peer: bool = True, append: bool = True) -> dict:
    """Measure, optionally append the rows to RESULTS.md, and return everything as a dict."""
    coordinates, metadata = _paths(data)
    times = []
    database = None
    for _ in range(repeats):
        seconds, database = _timed(_load_ours, coordinates, metadata)
        times.append(seconds)
    to_studies_seconds, studies = _timed(database.to_studies)
    n_studies, n_foci = len(studies), sum(s.n_foci for s in studies)
    del studies, database
    gc.collect()  # NiMARE is timed next: leave it a process as clean as ours had
    ours_child = _child_rss("ours", data)
    result = new_result(
        "neurosynth",
        studies=n_studies,
        foci=n_foci,
        read_seconds_runs=times,
        read_seconds_median=statistics.median(times),
        to_studies_seconds=to_studies_seconds,
        tracemalloc_peak_mib=_tracemalloc_peak_mib(_load_ours, coordinates, metadata),
        rss_increase_mib=ours_child["rss_increase_mib"],
        read_seconds_child=ours_child["seconds"],
    )
    if peer:
        nimare_seconds, _ = _timed(_load_nimare, coordinates, metadata)
        peer_child = _child_rss("nimare", data)
        result["peer"] = PEER
        result["peer_read_seconds"] = nimare_seconds
        result["peer_rss_increase_mib"] = peer_child["rss_increase_mib"]
        result["peer_read_seconds_child"] = peer_child["seconds"]
    result["rows"] = _rows(result, repeats)
    return publish(result, append)


def _rows(result: dict, repeats: int) -> list[tuple[str, str, str, str]]:
    """(measurement, ours, peer, notes) for RESULTS.md."""
    peer_seconds = result.get("peer_read_seconds")
    peer_rss = result.get("peer_rss_increase_mib")
    runs = ", ".join(f"{t:.2f}" for t in result["read_seconds_runs"])
    child = f"{result['read_seconds_child']:.2f} s"
    if "peer_read_seconds_child" in result:
        child += f" ours, {result['peer_read_seconds_child']:.1f} s peer"
    return [
        (
            "neurosynth: load coordinates + metadata (wall time)",
            f"{result['read_seconds_median']:.2f} s",
            f"{peer_seconds:.1f} s" if peer_seconds is not None else "not run",
            f"ours: read_neurosynth, median of {repeats} ({runs} s), validated, coordinates kept "
            f"in reported space; peer: {PEER} convert_neurosynth_to_dataset, once, includes its "
            f"TAL->MNI conversion; the memory runs' fresh processes took {child}",
        ),
        (
            "neurosynth: load, peak RSS increase",
            f"{result['rss_increase_mib']:.0f} MiB",
            f"{peer_rss:.0f} MiB" if peer_rss is not None else "not run",
            "peak RSS (VmHWM) after the load minus after imports, each in a fresh child process",
        ),
        (
            "neurosynth: load, tracemalloc peak",
            f"{result['tracemalloc_peak_mib']:.0f} MiB",
            "n/a",
            "Python + numpy allocations traced during one read_neurosynth (slower under tracing)",
        ),
        (
            f"neurosynth: to_studies() of all {result['studies']:,} studies",
            f"{result['to_studies_seconds']:.2f} s",
            "n/a",
            f"{result['foci']:,} validated pydantic Focus objects; NiMARE has no per-study "
            "model objects to compare",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the Neurosynth files")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip NiMARE")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--child-rss", choices=sorted(LOADERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_rss:
        _child_main(args.child_rss, args.data)
        return
    result = run(args.data, args.repeats, peer=not args.no_peer, append=not args.no_append)
    for measurement, ours, peer, _ in result["rows"]:
        print(f"{measurement:60s} ours {ours:>10s}   peer {peer}")
    if not args.no_append:
        print(f"appended {len(result['rows'])} rows to {RESULTS}")


if __name__ == "__main__":
    main()

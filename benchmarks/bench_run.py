"""Benchmark: wall time of ``neuroreview run`` on the built-in ketamine corpus (budget: 60 s).

Three rows: the default run (1,000 Monte Carlo iterations per analysis, seed 0), the run with
10,000 iterations whose whole output, ``report.html`` included, must take under 60 s on 2 cores,
and the default run cold: as after installing, numba's cache empty (``NUMBA_CACHE_DIR`` a new
folder) so every compiled loop is compiled, timed once.
Each in a fresh interpreter, as a user types it, into a temporary folder; the median of
``--repeats`` runs. There is no peer: no other tool writes a whole review report. Skipped, with
a message, when this version ships no built-in corpus. Run ``python benchmarks/bench_run.py``.
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

COMMAND = ("-m", "neuroreview", "run")


def _one_run(folder: Path, extra: list[str], numba_cache: str | None = None) -> tuple[float, dict]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    out = folder / "out"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *COMMAND, "--out", str(out), *extra],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "summary.json").read_text(encoding="utf-8"))


#: The measured configurations: (what the row says, extra arguments of `neuroreview run`).
CONFIGURATIONS = (
    ("run: `neuroreview run` on the built-in corpus (fresh process)", []),
    (
        "run: `neuroreview run --iterations 10000` on the built-in corpus, whole report "
        "included (fresh process)",
        ["--iterations", "10000"],
    ),
)


def _row(measurement: str, times: list[float], summary: dict, repeats: int) -> tuple:
    steps = summary["steps"]
    per_step = ", ".join(
        f"{name} {step['seconds']:.1f} s" if step["status"] == "run" else f"{name} skipped"
        for name, step in steps.items()
    )
    select = steps["select"]
    settings = summary["settings"]
    report = "report.html written" if "report" in steps else "no report step"
    return (
        measurement,
        f"{statistics.median(times):.1f} s",
        "n/a",
        f"median of {repeats}; {summary['n_studies']} studies, "
        f"{select['n_experiments']} experiments ({select['n_foci']} foci) meta-analysed, "
        f"{settings['iterations']} iterations, seed {settings['seed']}, "
        f"{settings['jobs']} job(s); {report}; last run's steps: {per_step}; "
        "peer: none, no other tool writes a whole review report; budget: under 60 s",
    )


def run(repeats: int = 3, append: bool = True, extra: list[str] | None = None) -> dict:
    from neuroreview.io.builtin import builtin_corpus_dir

    result = new_result("run", rows=[])
    if builtin_corpus_dir() is None:
        print("run: skipped, no built-in corpus ships with this version")
        return result
    extra = list(extra or [])
    configurations = (
        CONFIGURATIONS
        if not extra
        else (
            (
                f"run: `neuroreview run {' '.join(extra)}` on the built-in corpus (fresh process)",
                [],
            ),
        )
    )
    for measurement, arguments in configurations:
        times, summary = [], {}
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                seconds, summary = _one_run(Path(folder), [*arguments, *extra])
                times.append(seconds)
        result["rows"].append(_row(measurement, times, summary, repeats))
    if not extra:
        with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cache:
            seconds, summary = _one_run(Path(folder), [], numba_cache=cache)
        measurement = (
            "run: `neuroreview run` on the built-in corpus, cold (fresh process, numba cache empty)"
        )
        row = _row(measurement, [seconds], summary, 1)
        result["rows"].append((*row[:3], row[3].replace("median of 1", "once, compiling")))
    return publish(result, append)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args, rest = parser.parse_known_args()
    for measurement, ours, _, notes in run(args.repeats, not args.no_append, rest)["rows"]:
        print(f"{measurement}: {ours} ({notes})")

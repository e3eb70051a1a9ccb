"""Benchmark: wall time of ``neuroreview run`` on the built-in ketamine corpus (budget: 60 s).

The default run (1,000 Monte Carlo iterations per analysis, seed 0) in a fresh interpreter, as a
user types it, into a temporary folder; the median of ``--repeats`` runs. Skipped, with a
message, when this version ships no built-in corpus. Run ``python benchmarks/bench_run.py``.
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
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import append_rows, machine  # noqa: E402

COMMAND = ("-m", "neuroreview", "run")


def _one_run(folder: Path, extra: list[str]) -> tuple[float, dict]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
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


def run(repeats: int = 3, append: bool = True, extra: list[str] | None = None) -> dict:
    from neuroreview.io.builtin import builtin_corpus_dir

    result = {
        "benchmark": "run",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "rows": [],
    }
    if builtin_corpus_dir() is None:
        print("run: skipped, no built-in corpus ships with this version")
        return result
    extra = list(extra or [])
    times, summary = [], {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            seconds, summary = _one_run(Path(folder), extra)
            times.append(seconds)
    steps = summary["steps"]
    per_step = ", ".join(
        f"{name} {step['seconds']:.1f} s" if step["status"] == "run" else f"{name} skipped"
        for name, step in steps.items()
    )
    select = steps["select"]
    settings = summary["settings"]
    result["rows"].append(
        (
            "run: `neuroreview run` on the built-in corpus (fresh process)",
            f"{statistics.median(times):.1f} s",
            "n/a",
            f"median of {repeats}; {summary['n_studies']} studies, "
            f"{select['n_experiments']} experiments ({select['n_foci']} foci) meta-analysed, "
            f"{settings['iterations']} iterations, seed {settings['seed']}, "
            f"{settings['jobs']} job(s); last run's steps: {per_step}; budget: under 60 s",
        )
    )
    if append:
        append_rows(result["rows"], result["date"], result["machine"])
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args, rest = parser.parse_known_args()
    for measurement, ours, _, notes in run(args.repeats, not args.no_append, rest)["rows"]:
        print(f"{measurement}: {ours} ({notes})")

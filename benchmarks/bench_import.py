"""Benchmark: cold import time of ``neuroreview`` (budget: under 1 s), against ``import nimare``.

Each import runs in a fresh interpreter, so nothing is cached in ``sys.modules``; the median of
five runs is reported. Run ``python benchmarks/bench_import.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _results import new_result, publish

STATEMENTS = ("import neuroreview", "import neuroreview.cli")
PEER = ("nimare", "import nimare")


def _cold_import_seconds(statement: str, repeats: int) -> list[float]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def run(repeats: int = 5, append: bool = True) -> dict:
    baseline = statistics.median(_cold_import_seconds("pass", repeats))
    peer_seconds = statistics.median(_cold_import_seconds(PEER[1], repeats)) - baseline
    rows = []
    for statement in STATEMENTS:
        seconds = statistics.median(_cold_import_seconds(statement, repeats)) - baseline
        rows.append(
            (
                f"import: `{statement}` (cold)",
                f"{seconds:.2f} s",
                f"{peer_seconds:.2f} s (`{PEER[1]}`, NiMARE 0.22.1)",
                f"median of {repeats} fresh interpreters minus the bare interpreter's "
                f"{baseline:.2f} s start-up; budget: under 1 s",
            )
        )
    return publish(new_result("import", rows=rows), append)


if __name__ == "__main__":
    for measurement, ours, peer, _ in run()["rows"]:
        print(f"{measurement:45s} ours {ours:>8s}   peer {peer}")

"""Benchmark: the convention sensitivity check against the analysis it tests.

``analyze --sensitivity`` reruns an ALE under the two conventions it was not run with (fit,
Monte Carlo FWE and clusters each) and under 20 seeded jitters of every focus (a fit each,
judged against the analysis's own null). Its target is under 3x the time of the analysis itself
(fit, Monte Carlo, FDR and clusters), both read from ``analysis.json``'s ``timings_s`` of one
process: NiMARE's pain example (``analyze``, 21 experiments, 267 foci) and the built-in ketamine
corpus (``run``, its ALE of single-dose drug effects), 10,000 iterations, 2 threads. No other
tool offers the check, so there is no peer.

Run ``python benchmarks/bench_sensitivity.py`` (``--no-append`` to only print).
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from _results import new_result, publish  # noqa: E402

ITERATIONS = 10_000
MAIN_STEPS = ("fit", "fwe_montecarlo", "fdr", "clusters")


def _pain_file() -> Path:
    from nimare import resources

    return Path(resources.__file__).parent / "nidm_pain_dset.json"


def _times(record: dict) -> tuple[float, float, int]:
    timings = record["timings_s"]
    main = sum(timings[step] for step in MAIN_STEPS)
    return (
        main,
        timings["convention_sensitivity"],
        len(record["convention_sensitivity"]["clusters"]),
    )


def _neuroreview(*args: str) -> None:
    command = [sys.executable, "-m", "neuroreview", *args]
    subprocess.run(command, check=True, capture_output=True, text=True)


def run(append: bool = True) -> dict:
    rows = []
    measured = {}
    with tempfile.TemporaryDirectory() as work:
        cases = {
            "NiMARE's pain example (21 experiments, 267 foci), analyze": (
                "analyze",
                str(_pain_file()),
                "--out",
                f"{work}/pain",
                "--sensitivity",
                "--iterations",
                str(ITERATIONS),
                "--seed",
                "1",
                "--jobs",
                "2",
            ),
            "built-in ketamine corpus, run (its ALE)": (
                "run",
                "--out",
                f"{work}/builtin",
                "--iterations",
                str(ITERATIONS),
                "--jobs",
                "2",
            ),
        }
        records = {}
        for name, args in cases.items():
            _neuroreview(*args)
            folder = Path(args[args.index("--out") + 1])
            path = folder / ("analysis.json" if args[0] == "analyze" else "ale/analysis.json")
            records[name] = json.loads(path.read_text())
        for name, record in records.items():
            main, check, n_clusters = _times(record)
            measured[name] = {"main_s": main, "sensitivity_s": check, "clusters": n_clusters}
            rows.append(
                (
                    f"sensitivity: {name}, {ITERATIONS:,} iterations, 2 threads",
                    f"{check:.1f} s ({check / main:.2f}x the analysis)",
                    "n/a",
                    f"the analysis itself (fit, Monte Carlo, FDR, clusters) {main:.1f} s; "
                    f"{n_clusters} surviving clusters tested under 3 conventions and 20 jitters; "
                    "target under 3x. No tool offers the check",
                )
            )
    result = new_result("sensitivity", rows=rows, measured=measured)
    return publish(result, append)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    result = run(append=not args.no_append)
    for row in result["rows"]:
        print("   ", row[0], "|", row[1], "|", row[3])


if __name__ == "__main__":
    main()

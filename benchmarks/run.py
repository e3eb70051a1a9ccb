"""Run every benchmark in this folder and append their rows to RESULTS.md.

``python benchmarks/run.py`` (``--only NAME`` for one of them). BLAS is pinned to one thread
before anything imports numpy: on this 2-core machine threaded BLAS is many times slower.
Every ``bench_<name>.py`` here is found by name (``bench_scale.py`` is ``--only scale``, the
longest: about 1.5 hours on 2 cores).
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


#: Benchmarks whose module is not named ``bench_<name>.py``.
MODULES = {"cbma": "cbma"}


def benchmark_modules() -> dict[str, str]:
    found = {p.stem.removeprefix("bench_"): p.stem for p in HERE.glob("bench_*.py")}
    return dict(sorted({**found, **MODULES}.items()))


def benchmark_names() -> list[str]:
    return list(benchmark_modules())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=benchmark_names(), action="append")
    args = parser.parse_args(argv)
    for name in args.only or benchmark_names():
        print(f"== {name}", flush=True)
        result = importlib.import_module(benchmark_modules()[name]).run()
        for measurement, ours, peer, _ in result["rows"]:
            print(f"   {measurement:58s} ours {ours:>10s}   peer {peer}")
    print(f"results appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

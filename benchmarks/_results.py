"""Shared by every benchmark: the machine description and appending rows to RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

RESULTS_HEADER = """# Benchmark results

Rows are appended by the scripts in this folder (see README.md); each row is one measurement of
one run. Columns:

- **date (UTC)**: when the run finished.
- **machine**: CPU model, number of logical CPUs, Python version (benchmarks run with
  `OPENBLAS_NUM_THREADS=1`).
- **measurement**: what was measured, prefixed by the benchmark's name.
- **ours**: neuroreview's result.
- **peer**: the reference tool's result for the same measurement in the same run (the tool and
  version are named in the notes), or n/a when it has no equivalent.
- **notes**: how it was measured and anything that makes the two numbers differ in kind.

| date (UTC) | machine | measurement | ours | peer | notes |
| --- | --- | --- | --- | --- | --- |
"""


def machine() -> str:
    """CPU model (platform.processor() is empty on most Linux), CPU count, Python version."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{model}, {os.cpu_count()} CPUs, {system}, Python {platform.python_version()}"


def append_rows(rows: list[tuple[str, str, str, str]], date: str, machine_text: str) -> None:
    """Append rows to RESULTS.md's main table, writing its header first when the file is new.
    The rows go before the first ``## `` section that follows the table (a benchmark with
    columns of its own, such as the web load, keeps its own table there)."""
    if not RESULTS.exists():
        RESULTS.write_text(RESULTS_HEADER, encoding="utf-8")
    lines = "".join(
        "| " + " | ".join(c.replace("|", "/") for c in cells) + " |\n"
        for cells in ([date, machine_text, *row] for row in rows)
    )
    text = RESULTS.read_text(encoding="utf-8")
    cut = text.find("\n## ")
    if cut == -1:
        cut = len(text) + 1  # no section: the rows go at the end
    text = text[:cut].rstrip("\n") + "\n" + lines + text[cut:]
    RESULTS.write_text(text, encoding="utf-8")


def new_result(benchmark: str, **fields: object) -> dict:
    """A benchmark's result document: its name, when (UTC, to the minute) and where it ran."""
    from datetime import UTC, datetime

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    return {"benchmark": benchmark, "date": date, "machine": machine(), **fields}


def publish(result: dict, append: bool) -> dict:
    """Append the result's rows to RESULTS.md (unless ``append`` is false); return the result."""
    if append:
        append_rows(result["rows"], result["date"], result["machine"])
    return result

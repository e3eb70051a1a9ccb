"""Benchmark: the web workspace with 20 reviewers deciding at once, on SQLite and PostgreSQL.

For each store, a real ``neuroreview serve`` process on 127.0.0.1 gets a fresh project: 20
accounts (the first owns the project, the others are made reviewers) and a seeded synthetic
search of 3,000 records imported through the API as three database exports (see
``web_load.py``). 3,000 is the middle of the 2,000-5,000 records a review usually screens at
title/abstract after deduplication; ``decide`` and the record view read only the record
concerned, so the size matters little for them, but it is what a real project holds. Then 20
clients, one thread and one HTTP connection each, decide records for 60 s (closed loop: the
next request leaves when the answer to the last one came). Title/abstract screening needs two
independent reviewers by default, so every record is decided by two clients, a client and its
neighbour, who reach it at about the same time. Two runs, each on a fresh server and store:

* ``acceptance``: each client opens the record (``GET /records/{id}``, as the screening page
  does), waits 0.5-1.5 s (seeded), then decides (``POST .../decisions``). A person takes
  several seconds at the very fastest to read a title and abstract, so this is several times
  the load of 20 real screeners: the run the issue's goal (p95 under 200 ms, no decision lost)
  is judged on, on the decision requests;
* ``saturation``: no reading and no waiting, decisions only, as fast as answers come: the
  server's ceiling in decisions per second. Latency here is set by the queue (20 clients /
  throughput), it is not a target.

Afterwards the store itself is read and every stored screening decision matched with a 201
answer: lost (acknowledged, not stored), doubled (stored twice) and unanswered (stored, no 201)
are counted, as is every non-2xx answer. Verdicts: 80% exclude, 15% include, 5% maybe, seeded.

Run ``python benchmarks/bench_web_load.py`` (about 5 minutes). PostgreSQL is used when
``--pg-url`` or ``NEUROREVIEW_TEST_POSTGRES_URL`` names a database; its tables go in their own
schema (``--pg-schema``, created, emptied first and dropped after), so the tests' tables in
that database are untouched. Rows go to the "Web workspace load" section of ``RESULTS.md``.
The clients run on the same machine as the server (loopback): their CPU time is reported too.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import web_load as harness  # noqa: E402
from _results import RESULTS, RESULTS_HEADER, new_result  # noqa: E402

#: Goal of the issue, judged on the acceptance run's decision requests.
P95_GOAL_MS = 200.0
SCENARIOS = {
    "acceptance": harness.Load(read_first=True, think=1.0),
    "saturation": harness.Load(read_first=False, think=0.0),
}
BACKENDS = ("sqlite", "postgresql")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

SECTION = "## Web workspace load"
SECTION_TEXT = """\
Written by `bench_web_load.py` (see its docstring and README.md). A real `neuroreview serve`
process on 127.0.0.1, a fresh project per row: 3,000 synthetic records imported through the API,
20 accounts; each client (a thread with its own HTTP connection) decides records for the whole
run, closed loop, every record by two clients (dual screening, the default plan).
**acceptance**: open the record (`GET`), wait 0.5-1.5 s, decide (`POST`): several times the
pace of 20 people screening, the run the goal (decision p95 under 200 ms, nothing lost) is
judged on. **saturation**: decisions only, no wait: the ceiling; its latency is the queue
(clients / throughput), not a target. Latencies in ms, measured by the client around each
request. *lost*: answered 201 but not in the store (or with another verdict); *doubled*: a
reviewer's decision stored twice on one record; *unanswered*: stored for a reviewer who got no
201 on that record. CPU: seconds used during the run by the server process and by the clients'
process (same 2-core machine). Load average: 1-minute value before and after the run (other
work on the machine shows here).
"""
COLUMNS = (
    "date (UTC)",
    "machine",
    "store",
    "run",
    "requests",
    "decisions (/s)",
    "decide p50 / p95 / p99 / max",
    "read p50 / p95 / max",
    "errors",
    "lost / doubled / unanswered",
    "CPU server / clients",
    "load average",
    "goal",
)


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"  # NaN: no request of that kind


def table_row(date: str, machine: str, scenario: str, f: dict) -> str:
    d, r = f["decide_ms"], f["read_ms"]
    t = f["think"]
    how = f"read, wait {0.5 * t:.1f}-{1.5 * t:.1f} s, decide" if f["read_first"] else "decide only"
    run = f"{scenario}: {f['clients']} clients, {f['window_s']:.0f} s, {f['records']:,} records, {how}"
    errors = str(f["errors"])
    if f["errors"]:
        errors += " (" + ", ".join(f"{k}: {n}" for k, n in sorted(f["error_kinds"].items())) + ")"
    cpu = "-"
    if f["server_cpu_s"] is not None:
        cpu = f"{f['server_cpu_s']:.0f} s / {f['client_cpu_s']:.0f} s"
    cells = [
        date,
        machine,
        LABELS[f["backend"]],
        run,
        str(f["requests"]),
        f"{f['decisions']} ({f['decisions_per_s']:.1f}/s)",
        " / ".join(_ms(d[k]) for k in ("p50", "p95", "p99", "max")),
        " / ".join(_ms(r[k]) for k in ("p50", "p95", "max")),
        errors,
        f"{len(f['lost'])} / {len(f['doubled'])} / {len(f['unacknowledged'])}",
        cpu,
        f"{f['load_before'][0]:.2f} -> {f['load_after'][0]:.2f}",
        verdict(scenario, f),
    ]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def verdict(scenario: str, f: dict) -> str:
    """Whether the run meets the goal: nothing lost or doubled, no error, and (acceptance
    only) decision p95 under the goal."""
    intact = not (f["lost"] or f["doubled"] or f["errors"]) and f["per_reviewer_match"]
    if scenario != "acceptance":
        return "intact" if intact else "DECISIONS NOT INTACT"
    fast = f["decide_ms"]["p95"] < P95_GOAL_MS
    if intact and fast:
        return f"met (p95 < {P95_GOAL_MS:.0f} ms)"
    return "MISSED: " + ", ".join(
        part
        for part, failed in (
            (f"decide p95 {f['decide_ms']['p95']:.0f} ms", not fast),
            ("decisions not intact", not intact),
        )
        if failed
    )


def write_section(lines: list[str]) -> None:
    """Add table rows to the "Web workspace load" section, creating it at the end of
    RESULTS.md when missing; rows go after the section table's last row."""
    if not RESULTS.exists():
        RESULTS.write_text(RESULTS_HEADER, encoding="utf-8")
    text = RESULTS.read_text(encoding="utf-8")
    if SECTION not in text:
        header = "| " + " | ".join(COLUMNS) + " |\n" + "|" + " --- |" * len(COLUMNS) + "\n"
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{SECTION_TEXT}\n{header}"
    rows = text.split("\n")
    at = rows.index(SECTION)
    while not rows[at].startswith("| date"):
        at += 1
    while at < len(rows) and rows[at].startswith("|"):
        at += 1
    rows[at:at] = lines
    RESULTS.write_text("\n".join(rows), encoding="utf-8")


def run(
    *,
    backends: tuple[str, ...] = BACKENDS,
    scenarios: tuple[str, ...] = tuple(SCENARIOS),
    clients: int = 20,
    seconds: float = 60.0,
    records: int = 3000,
    think: float = 1.0,
    seed: int = 0,
    pg_url: str | None = None,
    pg_schema: str = "neuroreview_load",
    append: bool = True,
) -> dict:
    """Every scenario on every store; returns the result (``rows`` as the other benchmarks
    give them, ``figures`` per run) and writes the section rows unless ``append`` is false."""
    pg_url = pg_url or os.environ.get("NEUROREVIEW_TEST_POSTGRES_URL")
    result = new_result("web_load", rows=[], figures=[])
    lines = []
    for backend in backends:
        if backend == "postgresql" and not pg_url:
            print("PostgreSQL skipped: give --pg-url or set NEUROREVIEW_TEST_POSTGRES_URL")
            continue
        for name in scenarios:
            load = replace(
                SCENARIOS[name],
                clients=clients,
                seconds=seconds,
                records=records,
                seed=seed,
                think=think if SCENARIOS[name].think else 0.0,
            )
            print(f"{LABELS[backend]}, {name}: {clients} clients for {seconds:.0f} s", flush=True)
            figures = harness.scenario(backend, load, pg_url=pg_url, schema=pg_schema)
            figures["scenario"] = name
            print(describe(figures), flush=True)
            result["figures"].append(figures)
            lines.append(table_row(result["date"], result["machine"], name, figures))
            d = figures["decide_ms"]
            result["rows"].append(
                (
                    f"web load: {LABELS[backend]}, {name}, {clients} clients",
                    f"decide p95 {d['p95']:.0f} ms",
                    "n/a",
                    f"{figures['decisions_per_s']:.1f} decisions/s; {verdict(name, figures)}",
                )
            )
    if append and lines:
        write_section(lines)
    return result


def describe(f: dict) -> str:
    d, r = f["decide_ms"], f["read_ms"]
    text = [
        f"  {f['requests']} requests in {f['seconds']:.1f} s ({f['requests_per_s']:.1f}/s), "
        f"{f['decisions']} decisions ({f['decisions_per_s']:.1f}/s)",
        f"  decide ms p50 {_ms(d['p50'])} p95 {_ms(d['p95'])} p99 {_ms(d['p99'])} "
        f"max {_ms(d['max'])}; read ms p50 {_ms(r['p50'])} p95 {_ms(r['p95'])} "
        f"max {_ms(r['max'])}",
        f"  errors {f['errors']} {f['error_kinds']}; lost {len(f['lost'])}, doubled "
        f"{len(f['doubled'])}, unanswered {len(f['unacknowledged'])}; per-reviewer counts "
        f"match: {f['per_reviewer_match']}",
        f"  server CPU {f['server_cpu_s']} s, clients CPU {f['client_cpu_s']:.1f} s; load "
        f"average {f['load_before']} -> {f['load_after']}; setup {f['setup_s']:.1f} s "
        f"(import {f['import_s']:.1f} s)",
    ]
    if f["ran_out"]:
        text.append(f"  clients that decided their whole share: {len(f['ran_out'])}")
    for example in f["error_examples"][:5]:
        text.append(f"  error: {example}")
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), action="append")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--think", type=float, default=1.0, help="acceptance: mean wait, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-url", help="default: $NEUROREVIEW_TEST_POSTGRES_URL")
    parser.add_argument("--pg-schema", default="neuroreview_load")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    result = run(
        backends=tuple(args.backend or BACKENDS),
        scenarios=tuple(args.scenario or SCENARIOS),
        clients=args.clients,
        seconds=args.seconds,
        records=args.records,
        think=args.think,
        seed=args.seed,
        pg_url=args.pg_url,
        pg_schema=args.pg_schema,
        append=not args.no_append,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if not args.no_append and result["figures"]:
        print(f"rows added to {RESULTS} ({SECTION[3:]})")


if __name__ == "__main__":
    main()

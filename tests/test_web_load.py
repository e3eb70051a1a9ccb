"""The web load harness (``benchmarks/web_load.py``) run briefly: a real ``neuroreview serve``
process, clients deciding at once, and every decision checked in the store.

The 60 s, 20-client benchmark measures speed; this test only asserts what must hold at any
speed: every decision answered 201 is stored exactly once, nothing is stored unanswered, and no
request fails. Runs on SQLite and on PostgreSQL (when ``NEUROREVIEW_TEST_POSTGRES_URL`` is set;
the harness keeps its tables in a schema of its own and drops it afterwards).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from test_web_api import POSTGRES_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import web_load  # noqa: E402

from neuroreview.io.references import read_references  # noqa: E402

RECORDS = 300
LOAD = web_load.Load(clients=5, seconds=5.0, records=RECORDS, read_first=True, think=0.0)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_clients_deciding_at_once_lose_no_decision(backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set NEUROREVIEW_TEST_POSTGRES_URL (.ci/run does)")
    with web_load.Stores.make(backend, POSTGRES_URL, "neuroreview_load_test") as stores:
        log = stores.folder / "serve.log"
        with web_load.serving(stores.store, stores.server_db, log) as served:
            team = web_load.fill(served.base, LOAD.clients, RECORDS, seed=0)
            try:
                run = web_load.run_load(team, LOAD)
                board = team.clients[0].get(f"/api/projects/{web_load.PROJECT}/screening")
            finally:
                team.close()
            check = web_load.verify(stores.store, run)
    failures = [(r.kind, r.record, r.status, r.error) for r in run.failures()]
    assert failures == [], log.read_text()[-2000:]
    decided = run.acknowledged()
    assert len(decided) > 0
    verdicts: dict[str, list[str]] = {}
    for r in decided:
        verdicts.setdefault(r.record, []).append(r.verdict)
    # Dual screening: two clients per record, each once; most records got both verdicts.
    assert len({(r.record, r.client) for r in decided}) == len(decided)
    assert {len(v) for v in verdicts.values()} <= {1, 2}
    assert sum(len(v) == 2 for v in verdicts.values()) > len(verdicts) / 2
    assert all(r.status == 201 for r in run.requests if r.kind == "decide")
    assert all(r.status == 200 for r in run.requests if r.kind == "read")
    assert (check.lost, check.doubled, check.unacknowledged) == ([], [], [])
    per_client = {
        team.usernames[i]: sum(1 for r in decided if r.client == i) for i in range(LOAD.clients)
    }
    assert check.stored_by == check.acknowledged_by == {k: n for k, n in per_client.items() if n}
    # The API agrees: records with two verdicts left title/abstract screening (both exclude:
    # excluded; both forward: on to retrieval), or wait there as a conflict.
    both = [v for v in verdicts.values() if len(v) == 2]
    excluded = sum(v == ["exclude", "exclude"] for v in both)
    forward = sum("exclude" not in v for v in both)
    assert board.json()["records"] == RECORDS
    assert board.json()["conflicts"] == len(both) - excluded - forward
    assert board.json()["waiting"] == {
        k: n
        for k, n in {"screening": RECORDS - excluded - forward, "retrieval": forward}.items()
        if n
    }


def _request(client: int, record: str, verdict: str, status: int = 201) -> web_load.Request:
    return web_load.Request(client, "decide", record, verdict, 0.0, 0.01, status)


def test_the_check_names_lost_doubled_and_unanswered_decisions():
    run = web_load.Run(
        web_load.Load(clients=2),
        ["ann", "bob"],
        [
            _request(0, "1.1", "include"),
            _request(0, "1.2", "exclude"),  # answered, never stored: lost
            _request(1, "1.3", "exclude"),  # stored twice: doubled (not lost)
            _request(1, "1.4", "maybe"),  # stored with another verdict: lost
            _request(1, "1.5", "include", status=400),  # refused and not stored: fine
        ],
        elapsed=1.0,
        ran_out={},
    )
    stored = {
        "1.1": [("ann", "include")],
        "1.2": [],
        "1.3": [("bob", "exclude"), ("bob", "exclude")],
        "1.4": [("bob", "include")],
        "1.5": [],
        "1.6": [("ann", "exclude")],  # no 201 was seen for it (a timed-out request)
    }
    check = web_load.compare(stored, run)
    assert check.lost == ["1.2", "1.4"]
    assert check.doubled == ["1.3"]
    assert check.unacknowledged == ["1.6"]
    assert check.acknowledged_by == {"ann": 2, "bob": 2}
    assert check.stored_by == {"ann": 2, "bob": 3}
    assert not check.ok
    whole = {"1.1": [("ann", "include")], "1.2": [("ann", "exclude")]}
    fine = web_load.Run(run.load, run.usernames, run.requests[:2], 1.0, {})
    assert web_load.compare(whole, fine).ok


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert web_load.percentile(values, 50) == 10.0
    assert web_load.percentile(values, 95) == 19.0
    assert web_load.percentile(values, 99) == 20.0
    assert web_load.percentile([7.0], 95) == 7.0
    summary = web_load.latency_summary([0.004, 0.001, 0.003, 0.002])
    assert summary == {"n": 4, "p50": 2.0, "p95": 4.0, "p99": 4.0, "max": 4.0, "mean": 2.5}


def test_the_synthetic_search_is_seeded_and_reads_as_an_export(tmp_path):
    text = web_load.synthetic_ris(40, seed=3, database="Embase")
    assert text == web_load.synthetic_ris(40, seed=3, database="Embase")
    assert text != web_load.synthetic_ris(40, seed=4, database="Embase")
    path = tmp_path / "embase.ris"
    path.write_text(text, encoding="utf-8")
    found = read_references(path)
    assert found.source == "Embase" and len(found.records) == 40
    first = found.records[0]
    assert first.title and first.abstract.startswith("Background: ")
    assert 3 <= len(first.authors) <= 8 and 2000 <= first.year <= 2025
    assert first.doi.endswith("/synthetic.emb.000000")
    assert len({r.doi for r in found.records}) == 40
    words = [len(r.abstract.split()) for r in found.records]
    assert min(words) >= 150 and max(words) <= 300  # a structured abstract's length


def test_shares_give_each_record_to_one_or_two_clients():
    ids = [f"1.{i}" for i in range(1, 11)]
    assert web_load.shares(ids, 3) == [
        ["1.1", "1.4", "1.7", "1.10"],
        ["1.2", "1.5", "1.8"],
        ["1.3", "1.6", "1.9"],
    ]
    # Two per record: each client also takes its neighbour's slice, interleaved with its own.
    assert web_load.shares(ids, 3, per_record=2) == [
        ["1.1", "1.3", "1.4", "1.6", "1.7", "1.9", "1.10"],
        ["1.2", "1.1", "1.5", "1.4", "1.8", "1.7", "1.10"],
        ["1.3", "1.2", "1.6", "1.5", "1.9", "1.8"],
    ]
    with pytest.raises(ValueError, match="two need two clients"):
        web_load.shares(ids, 1, per_record=2)

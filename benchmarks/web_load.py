"""The web workspace under load: a real ``neuroreview serve`` process and many reviewers at once.

Shared by ``bench_web_load.py`` (20 clients for 60 s, figures written to ``RESULTS.md``) and
``tests/test_web_load.py`` (a few clients for a few seconds, no timing asserted). The harness
does what a team does, over HTTP on 127.0.0.1 and nothing else:

1. :func:`serving` starts ``neuroreview serve --db ketamine=STORE --server-db SERVERDB --port P``
   in a child process and waits for ``/api/health``;
2. :func:`fill` signs up the accounts (the first one owns the project and makes the others
   reviewers) and imports a seeded synthetic search (:func:`synthetic_ris`: three database
   exports of realistic titles, authors and structured abstracts) through the import route;
3. :func:`run_load` lets every client decide its share of the records for a fixed time,
   closed loop (a client sends its next request when the previous one is answered), and times
   every request;
4. :func:`verify` reads the store itself afterwards and matches every stored screening decision
   with an acknowledged one (201): none lost, none stored twice, none stored without an answer.

Title/abstract screening needs two independent reviewers by default (the screening plan), so
every record is decided by two clients, a client and its neighbour, who reach it at about the
same moment: two verdicts on one record often arrive together, and both must be kept. No
record gets a third verdict, which the plan would refuse: a refusal would be the test's own
doing, not the server's. ``reviewers_per_record=1`` gives each client a share of its own.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT = "ketamine"
PASSWORD = "correct horse battery"
CSRF_HEADER = "X-CSRF-Token"
#: The screening verdicts clients give and how often (title/abstract screening excludes most).
VERDICT_MIX = (("exclude", 0.80), ("include", 0.15), ("maybe", 0.05))
#: Databases the synthetic search was run in: one RIS export each, as Ovid and EBSCO write them.
DATABASES = ("MEDLINE", "Embase", "APA PsycInfo")
#: Seconds a client waits for an answer before counting the request as failed.
REQUEST_TIMEOUT = 60.0

# --- the synthetic search ------------------------------------------------------------------

_CONDITIONS = (
    "major depressive disorder",
    "treatment-resistant depression",
    "bipolar disorder",
    "schizophrenia",
    "first-episode psychosis",
    "posttraumatic stress disorder",
    "obsessive-compulsive disorder",
    "generalized anxiety disorder",
    "social anxiety disorder",
    "attention-deficit/hyperactivity disorder",
    "autism spectrum disorder",
    "anorexia nervosa",
    "alcohol use disorder",
    "borderline personality disorder",
)
_METHODS = (
    "task-based fMRI",
    "resting-state fMRI",
    "voxel-based morphometry",
    "diffusion tensor imaging",
    "[11C]raclopride PET",
    "proton magnetic resonance spectroscopy",
    "arterial spin labelling",
    "surface-based morphometry",
)
_TASKS = (
    "emotional face matching",
    "n-back working memory",
    "monetary incentive delay",
    "Stroop interference",
    "go/no-go inhibition",
    "probabilistic reversal learning",
    "fear conditioning and extinction",
    "self-referential processing",
)
_REGIONS = (
    "amygdala",
    "subgenual anterior cingulate cortex",
    "dorsolateral prefrontal cortex",
    "hippocampus",
    "anterior insula",
    "ventral striatum",
    "orbitofrontal cortex",
    "thalamus",
    "precuneus",
    "dorsal anterior cingulate cortex",
    "cerebellum",
    "ventromedial prefrontal cortex",
)
_INTERVENTIONS = (
    "ketamine",
    "esketamine",
    "selective serotonin reuptake inhibitors",
    "cognitive behavioural therapy",
    "electroconvulsive therapy",
    "repetitive transcranial magnetic stimulation",
    "psilocybin",
    "lithium",
    "second-generation antipsychotics",
    "mindfulness-based intervention",
)
_TITLES = (
    "{method} of the {region} in {condition}: a case-control study",
    "Altered {region} activation during {task} in {condition}",
    "Effects of {intervention} on {region} function in {condition}",
    "{region} connectivity predicts response to {intervention} in {condition}",
    "Neural correlates of {task} in unmedicated patients with {condition}",
    "Longitudinal changes of the {region} after {intervention}: a {method} study",
    "Shared and distinct {region} abnormalities in {condition} and {condition2}",
    "A coordinate-based meta-analysis of {task} studies in {condition}",
)
_JOURNALS = (
    "Biological Psychiatry",
    "American Journal of Psychiatry",
    "JAMA Psychiatry",
    "Neuropsychopharmacology",
    "NeuroImage: Clinical",
    "Psychological Medicine",
    "Molecular Psychiatry",
    "Journal of Affective Disorders",
    "Human Brain Mapping",
    "Schizophrenia Bulletin",
    "Translational Psychiatry",
    "Psychiatry Research: Neuroimaging",
)
_SURNAMES = (
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Chen",
    "Wang",
    "Kim",
    "Nowak",
    "Johansson",
    "Dubois",
    "Silva",
    "Novak",
    "Okafor",
    "Patel",
    "Yamamoto",
    "Hansen",
    "Kowalski",
    "Fischer",
    "Moreau",
    "Cohen",
    "Ivanova",
    "Costa",
    "Murphy",
    "Schneider",
    "Lindqvist",
    "Becker",
    "Santos",
    "Ahmed",
    "Nguyen",
    "Tanaka",
    "O'Brien",
    "Horvath",
    "Popescu",
    "Andersen",
    "van den Berg",
)


def _record_ris(rng: random.Random, number: int, database: str) -> str:
    """One RIS record: a title, 3-8 authors, a structured abstract of about 250 words."""
    words = {
        "condition": rng.choice(_CONDITIONS),
        "condition2": rng.choice(_CONDITIONS),
        "method": rng.choice(_METHODS),
        "task": rng.choice(_TASKS),
        "region": rng.choice(_REGIONS),
        "intervention": rng.choice(_INTERVENTIONS),
    }
    title = rng.choice(_TITLES).format(**words)
    title = title[0].upper() + title[1:]
    n_patients, n_controls = rng.randint(12, 160), rng.randint(12, 140)
    x, y, z = rng.randint(-60, 60), rng.randint(-90, 60), rng.randint(-30, 70)
    abstract = " ".join(
        (
            f"Background: {words['condition'].capitalize()} has been linked to abnormal "
            f"function of the {words['region']}, but findings are inconsistent across samples "
            f"and paradigms, and the effect of {words['intervention']} is unclear.",
            f"Methods: {n_patients} patients with {words['condition']} and {n_controls} "
            f"matched healthy controls underwent {words['method']} during a "
            f"{words['task']} paradigm at 3 T. Images were preprocessed in SPM12, normalised to "
            "MNI space and smoothed with an 8 mm kernel; group differences were tested with a "
            "general linear model including age, sex and medication load as covariates, and "
            "a subgroup was scanned again after treatment.",
            f"Results: Patients showed {rng.choice(('greater', 'reduced'))} activity in the "
            f"{words['region']} (peak MNI {x}, {y}, {z}; Z = {rng.uniform(3.1, 6.5):.2f}, "
            f"p = {rng.choice(('0.001', '0.004', '0.012', '0.03'))} FWE-corrected at the "
            f"cluster level) and in the {rng.choice(_REGIONS)}. Activity correlated with "
            f"symptom severity (r = {rng.uniform(0.2, 0.6):.2f}). After "
            f"{words['intervention']}, {rng.randint(30, 70)}% of patients responded, and "
            f"responders showed a normalisation of {words['region']} activity.",
            f"Conclusions: The {words['region']} may be a marker of {words['condition']} and "
            f"of its response to {words['intervention']}; replication in larger, "
            "multi-site samples with preregistered analyses is needed.",
        )
    )
    lines = [
        "TY  - JOUR",
        f"DB  - {database}",
        f"TI  - {title}",
        *(
            f"AU  - {rng.choice(_SURNAMES)}, {rng.choice('ABCDEFGHJKLMNPRSTW')}."
            for _ in range(rng.randint(3, 8))
        ),
        f"PY  - {rng.randint(2000, 2025)}",
        f"T2  - {rng.choice(_JOURNALS)}",
        f"AB  - {abstract}",
        f"KW  - {words['condition']}",
        f"KW  - {words['method']}",
        f"KW  - {words['region']}",
        f"DO  - 10.{rng.randint(1000, 9999)}/synthetic.{database[:3].lower()}.{number:06d}",
        "ER  - ",
    ]
    return "\n".join(lines) + "\n\n"


def synthetic_ris(n_records: int, seed: int, database: str) -> str:
    """``n_records`` realistic, distinct screening records as one database's RIS export."""
    rng = random.Random(f"{seed}/{database}")
    return "".join(_record_ris(rng, i, database) for i in range(n_records))


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command() -> list[str]:
    """``neuroreview`` as installed beside this interpreter, else ``python -m neuroreview``."""
    script = Path(sys.executable).with_name("neuroreview")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "neuroreview"]


@dataclass(frozen=True)
class Served:
    """A running server: where it answers and its process id."""

    base: str
    pid: int


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(
    store: str, server_db: str, log: Path, *, startup_timeout: float = 60.0
) -> Iterator[Served]:
    """Run ``neuroreview serve`` over ``store`` until the block ends."""
    port = free_port()
    command = [
        *serve_command(),
        "serve",
        "--db",
        f"{PROJECT}={store}",
        "--server-db",
        server_db,
        "--port",
        str(port),
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, log, startup_timeout)
        yield Served(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"neuroreview serve exited ({process.returncode}):\n{log.read_text()}"
            )
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"neuroreview serve did not answer /api/health in {timeout:.0f} s")


def postgres_schema_url(url: str, schema: str) -> str:
    """``url`` with its tables in ``schema`` (PostgreSQL's search_path), so a load test never
    touches the tables other users of the same database (the test suite) keep in ``public``."""
    from sqlalchemy.engine import make_url

    made = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return made.render_as_string(hide_password=False)


def empty_postgres(url: str, schema: str) -> str:
    """Create ``schema`` if missing and drop the server's and the store's tables in it;
    returns the URL that works in it (see :func:`postgres_schema_url`)."""
    from sqlalchemy import create_engine, text

    from neuroreview.store import schema as store_schema
    from neuroreview.store import server

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    inside = postgres_schema_url(url, schema)
    engine = create_engine(inside)
    server.metadata.drop_all(engine)
    store_schema.metadata.drop_all(engine)
    engine.dispose()
    return inside


def drop_postgres_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


# --- the team and the project --------------------------------------------------------------


@dataclass
class Team:
    """Signed-in clients (one per person; the first owns the project) and the record ids."""

    base: str
    clients: list[httpx.Client]
    usernames: list[str]
    record_ids: list[str]
    import_seconds: float

    def close(self) -> None:
        for client in self.clients:
            client.close()


def sign_in(base: str, username: str) -> httpx.Client:
    """A new account, signed in: a client holding its session cookie and CSRF header."""
    client = httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT)
    made = client.post("/api/accounts", json={"username": username, "password": PASSWORD})
    _expect(made, 201)
    signed = client.post("/api/session", json={"username": username, "password": PASSWORD})
    _expect(signed, 200)
    client.headers[CSRF_HEADER] = signed.json()["csrf"]
    return client


def _expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
            f"(expected {status}): {answer.text[:300]}"
        )


def fill(base: str, n_people: int, n_records: int, seed: int) -> Team:
    """Sign up ``n_people`` (the first owns the project, the others become reviewers) and
    import ``n_records`` synthetic records, split over :data:`DATABASES`, through the API."""
    usernames = [f"reviewer{i + 1:02d}" for i in range(n_people)]
    clients = [sign_in(base, usernames[0])]
    owner = clients[0]
    for name in usernames[1:]:
        clients.append(sign_in(base, name))
        added = owner.put(f"/api/projects/{PROJECT}/members/{name}", json={"role": "reviewer"})
        _expect(added, 200)
    started = time.perf_counter()
    share, rest = divmod(n_records, len(DATABASES))
    for i, database in enumerate(DATABASES):
        text = synthetic_ris(share + (1 if i < rest else 0), seed, database)
        name = f"{database.split()[-1].lower()}.ris"
        answer = owner.post(
            f"/api/projects/{PROJECT}/imports",
            files={"file": (name, text.encode(), "application/x-research-info-systems")},
        )
        _expect(answer, 201)
    import_seconds = time.perf_counter() - started
    ids: list[str] = []
    while True:
        page = owner.get(
            f"/api/projects/{PROJECT}/records", params={"limit": 500, "offset": len(ids)}
        )
        _expect(page, 200)
        found = [r["id"] for r in page.json()["records"]]
        ids += found
        if not found or len(ids) >= page.json()["total"]:
            break
    if len(ids) != n_records:
        raise RuntimeError(f"imported {n_records} records but the project lists {len(ids)}")
    return Team(base, clients, usernames, ids, import_seconds)


# --- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """How the clients behave. ``read_first``: open the record (``GET``) before deciding, as
    the screening page does; ``think``: mean seconds between reading and deciding (each wait
    drawn uniformly from 0.5-1.5 times it, seeded per client); 0 is a closed loop at full
    speed. ``reviewers_per_record``: 2 (the default plan's dual screening) or 1."""

    clients: int = 20
    seconds: float = 60.0
    records: int = 3000
    read_first: bool = False
    think: float = 0.0
    seed: int = 0
    reviewers_per_record: int = 2


@dataclass(frozen=True)
class Request:
    """One request a client sent: what, when (seconds since the start), how long, the answer
    (None when none came: timeout or broken connection, said in ``error``)."""

    client: int
    kind: str  # "read" or "decide"
    record: str
    verdict: str | None
    started: float
    seconds: float
    status: int | None
    error: str | None = None


@dataclass
class Client:
    """One reviewer's loop: its share of the records, in order, until time is up."""

    index: int
    http: httpx.Client
    username: str
    records: list[str]
    load: Load
    requests: list[Request] = field(default_factory=list)
    ran_out_at: float | None = None

    def run(self, start_gate: threading.Barrier, clock: list[float]) -> None:
        rng = random.Random(f"{self.load.seed}/client/{self.index}")
        verdicts = [v for v, _ in VERDICT_MIX]
        weights = [w for _, w in VERDICT_MIX]
        start_gate.wait()
        start = clock[0]
        end = start + self.load.seconds
        if self.load.think > 0:  # people do not all start reading at the same instant
            time.sleep(rng.uniform(0, self.load.think))
        for record in self.records:
            if time.perf_counter() >= end:
                return
            verdict = rng.choices(verdicts, weights)[0]
            if self.load.read_first:
                self._send(start, "read", record, None)
                if self.load.think > 0:
                    time.sleep(self.load.think * rng.uniform(0.5, 1.5))
                if time.perf_counter() >= end:
                    return
            self._send(start, "decide", record, verdict)
        self.ran_out_at = time.perf_counter() - start

    def _send(self, start: float, kind: str, record: str, verdict: str | None) -> None:
        url = f"/api/projects/{PROJECT}/records/{record}"
        began = time.perf_counter()
        try:
            if kind == "read":
                answer = self.http.get(url)
            else:
                body = {"verdict": verdict, "stage": "screening"}
                answer = self.http.post(f"{url}/decisions", json=body)
        except httpx.HTTPError as error:
            took = time.perf_counter() - began
            failed = f"{type(error).__name__}: {error}"
            self.requests.append(
                Request(self.index, kind, record, verdict, began - start, took, None, failed)
            )
            return
        took = time.perf_counter() - began
        error = None if answer.is_success else f"{answer.status_code}: {answer.text[:200]}"
        self.requests.append(
            Request(
                self.index, kind, record, verdict, began - start, took, answer.status_code, error
            )
        )


def shares(record_ids: Sequence[str], n: int, per_record: int = 1) -> list[list[str]]:
    """Each client's records, in the order it decides them. The records are dealt round robin
    into ``n`` slices (so every slice has records of every batch); client ``i`` decides slice
    ``i`` and, when ``per_record`` is 2, slice ``i - 1`` too, the two interleaved, so both
    reviewers of a record reach it at about the same time."""
    if per_record not in (1, 2) or (per_record == 2 and n < 2):
        raise ValueError("one or two reviewers per record, and two need two clients")
    slices = [list(record_ids[i::n]) for i in range(n)]
    if per_record == 1:
        return slices
    woven = []
    for i in range(n):
        own, other = slices[i], slices[i - 1]
        woven.append([r for pair in zip(own, other, strict=False) for r in pair])
        longer = own if len(own) > len(other) else other
        woven[-1] += longer[min(len(own), len(other)) :]
    return woven


@dataclass
class Run:
    """What the clients did, measured from the moment they were released together."""

    load: Load
    usernames: list[str]
    requests: list[Request]
    elapsed: float
    ran_out: dict[str, float]  # username -> seconds after the start when its share was done

    def acknowledged(self) -> list[Request]:
        return [r for r in self.requests if r.kind == "decide" and r.status == 201]

    def failures(self) -> list[Request]:
        return [r for r in self.requests if r.status is None or not 200 <= r.status < 300]


def run_load(team: Team, load: Load) -> Run:
    """``load.clients`` clients (the team's first ones) deciding their shares for
    ``load.seconds``; every request timed."""
    if load.clients > len(team.clients):
        raise ValueError(f"{load.clients} clients but only {len(team.clients)} accounts")
    parts = shares(team.record_ids, load.clients, load.reviewers_per_record)
    clients = [
        Client(i, team.clients[i], team.usernames[i], parts[i], load) for i in range(load.clients)
    ]
    clock = [0.0]
    gate = threading.Barrier(load.clients + 1)
    threads = [threading.Thread(target=c.run, args=(gate, clock), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    clock[0] = time.perf_counter()  # written before the gate opens: every client reads it after
    gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - clock[0]
    requests = sorted((r for c in clients for r in c.requests), key=lambda r: r.started)
    ran_out = {c.username: c.ran_out_at for c in clients if c.ran_out_at is not None}
    return Run(load, [c.username for c in clients], requests, elapsed, ran_out)


# --- checking the store --------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """The store against the answers, as record ids. ``lost``: a decision acknowledged (201)
    but not stored, or stored with another verdict; ``doubled``: a reviewer's decision stored
    twice on one record; ``unacknowledged``: a decision stored for a reviewer who got no 201
    on that record (a request that timed out may have been stored: it is listed, not called
    lost); and the counts per reviewer, acknowledged and stored."""

    lost: list[str]
    doubled: list[str]
    unacknowledged: list[str]
    acknowledged_by: dict[str, int]
    stored_by: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.lost and not self.doubled and self.acknowledged_by == self.stored_by


def verify(store_url: str, run: Run) -> Check:
    """Read every record of the store and match its screening decisions with the answers."""
    from neuroreview.store import Repository

    with Repository(store_url, create=False) as repository:
        records = repository.list_records()
    stored = {
        r.id: [(d.reviewer, d.verdict.value) for d in r.decisions if d.stage.value == "screening"]
        for r in records
    }
    return compare(stored, run)


def compare(stored: dict[str, list[tuple[str, str]]], run: Run) -> Check:
    """:func:`verify`'s matching, on (reviewer, verdict) lists per record id."""
    by_client = dict(enumerate(run.usernames))
    acked: dict[str, Counter] = {}
    for r in run.acknowledged():
        acked.setdefault(r.record, Counter())[(by_client[r.client], r.verdict)] += 1
    lost, doubled, unacknowledged = [], [], []
    for rid in sorted(set(acked) | set(stored)):
        said, found = acked.get(rid, Counter()), Counter(stored.get(rid, []))
        if said - found:
            lost.append(rid)
        if any(n > 1 for n in Counter(name for name, _ in stored.get(rid, [])).values()):
            doubled.append(rid)
        if {name for name, _ in found} - {name for name, _ in said}:
            unacknowledged.append(rid)
    acknowledged_by = Counter(
        name for said in acked.values() for (name, _), n in said.items() for _ in range(n)
    )
    stored_by = Counter(name for found in stored.values() for name, _ in found)
    return Check(lost, doubled, unacknowledged, dict(acknowledged_by), dict(stored_by))


# --- figures -------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p% of values at or
    below it (so p95 of 20 values is the 19th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Count, then p50/p95/p99/max/mean in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else math.nan,
        "mean": sum(ms) / len(ms) if ms else math.nan,
    }


def summarize(run: Run, check: Check) -> dict:
    """The run's figures as plain values (JSON-ready)."""
    answered = [r for r in run.requests if r.status is not None]
    decides = [r.seconds for r in answered if r.kind == "decide"]
    reads = [r.seconds for r in answered if r.kind == "read"]
    failures = run.failures()
    return {
        "clients": run.load.clients,
        "window_s": run.load.seconds,
        "seconds": run.elapsed,
        "records": run.load.records,
        "read_first": run.load.read_first,
        "think": run.load.think,
        "requests": len(run.requests),
        "requests_per_s": len(run.requests) / run.elapsed,
        "decisions": len(run.acknowledged()),
        "decisions_per_s": len(run.acknowledged()) / run.elapsed,
        "decide_ms": latency_summary(decides),
        "read_ms": latency_summary(reads),
        "all_ms": latency_summary([r.seconds for r in answered]),
        "errors": len(failures),
        "server_errors": sum(1 for r in failures if r.status is not None and r.status >= 500),
        "error_kinds": dict(Counter(_error_kind(r) for r in failures)),
        "error_examples": [
            {"client": r.client, "kind": r.kind, "record": r.record, "error": r.error}
            for r in failures[:20]
        ],
        "lost": check.lost,
        "doubled": check.doubled,
        "unacknowledged": check.unacknowledged,
        "per_reviewer_match": check.acknowledged_by == check.stored_by,
        "ran_out": run.ran_out,
    }


def _error_kind(request: Request) -> str:
    if request.status is None:
        return (request.error or "no answer").split(":")[0]
    return str(request.status)


# --- one whole scenario --------------------------------------------------------------------


@dataclass
class Stores:
    """Where a scenario's project store and server tables live."""

    backend: str  # "sqlite" or "postgresql"
    store: str
    server_db: str
    folder: Path

    @classmethod
    @contextmanager
    def make(cls, backend: str, pg_url: str | None, schema: str) -> Iterator[Stores]:
        folder = Path(tempfile.mkdtemp(prefix="neuroreview-load-"))
        try:
            if backend == "sqlite":
                yield cls(backend, str(folder / "ketamine.db"), str(folder / "server.db"), folder)
            elif backend == "postgresql":
                if not pg_url:
                    raise ValueError("PostgreSQL needs a database URL")
                inside = empty_postgres(pg_url, schema)
                try:
                    yield cls(backend, inside, inside, folder)
                finally:
                    drop_postgres_schema(pg_url, schema)
            else:
                raise ValueError(f"unknown backend {backend!r}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def scenario(
    backend: str, load: Load, *, pg_url: str | None = None, schema: str = "neuroreview_load"
) -> dict:
    """A fresh server over fresh stores, filled, loaded, checked: the figures (see
    :func:`summarize`), with the setup's time, the CPU the server and this process (the
    clients) used during the load, the load average around it, and the end of the server's
    log."""
    with Stores.make(backend, pg_url, schema) as stores:
        log = stores.folder / "serve.log"
        started = time.perf_counter()
        with serving(stores.store, stores.server_db, log) as served:
            team = fill(served.base, load.clients, load.records, load.seed)
            setup = time.perf_counter() - started
            load_before = os.getloadavg()
            server_cpu, client_cpu = cpu_seconds(served.pid), time.process_time()
            try:
                run = run_load(team, load)
            finally:
                team.close()
            server_after = cpu_seconds(served.pid)
            client_cpu = time.process_time() - client_cpu
            load_after = os.getloadavg()
            check = verify(stores.store, run)
        figures = summarize(run, check)
        used = None if server_cpu is None or server_after is None else server_after - server_cpu
        figures |= {
            "backend": backend,
            "setup_s": setup,
            "import_s": team.import_seconds,
            "server_cpu_s": used,
            "client_cpu_s": client_cpu,
            "load_before": load_before,
            "load_after": load_after,
            "server_log": log.read_text()[-2000:],
        }
        return figures

"""Runs started from the web workspace: a whole review or one meta-analysis, in a child process
that reports its progress as JSON lines, and that can be cancelled.

A child process rather than a thread because a review is minutes of numba and numpy work that
would starve the server's requests of the GIL, and because cancelling must stop it at once:
the child gets SIGINT, unwinds like a Ctrl-C in the CLI (its half-written output folder is
removed by the same staging code), and is killed if it has not stopped within a grace period
(its staging folder, which a kill leaves behind, is then removed by the parent). Each child
leads a process group of its own, so that a kill reaches anything it started, and so that a
Ctrl-C at the server's terminal reaches the server, which cancels its runs itself.
Each run's request and outcome are kept as ``<id>.json`` beside its output folder, so the list
of runs survives a restart of the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field

from neuroreview.errors import NeuroreviewError
from neuroreview.pipeline.progress import Advance

#: Seconds a cancelled run has to stop after SIGINT before it is killed.
CANCEL_GRACE_SECONDS = 15.0
#: Seconds, after the kill, for a killed run's record to be saved.
RECORD_GRACE_SECONDS = 5.0
#: Progress of a counted task is reported at most this often (seconds).
PROGRESS_INTERVAL = 0.2


class JobSpec(BaseModel):
    """What to run: ``review`` (``neuroreview run --db``: ALE and MKDA, region synthesis,
    decoding, report) or ``analysis`` (``neuroreview analyze --db``: one method's maps and
    clusters of the store's drug-effect analyses), on the project's store."""

    kind: Literal["review", "analysis"]
    method: Literal["ale", "mkda", "kda"] = Field(
        default="ale", description="the analysis's method (kind analysis only)"
    )
    iterations: int = Field(default=1000, ge=10, le=100_000, description="Monte Carlo FWE")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    direction: Literal["increase", "decrease"] | None = Field(
        default=None, description="only analyses of this direction (kind analysis only)"
    )
    impute_sample_size: bool = Field(
        default=True,
        description="ALE: an experiment without a sample size gets the median of the reported "
        "ones, marked in the record, as a review run does (kind analysis only)",
    )


@dataclass(frozen=True)
class JobRecord:
    """A run as the workspace lists it."""

    id: str
    kind: str
    spec: dict[str, Any]
    started_by: str
    started: str
    status: str  # running, done, failed, cancelled
    stage: str | None = None
    task: dict[str, Any] | None = None
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    finished: str | None = None
    files: list[str] = field(default_factory=list)
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "spec": self.spec,
            "started_by": self.started_by,
            "started": self.started,
            "status": self.status,
            "stage": self.stage,
            "task": self.task,
            "messages": self.messages,
            "error": self.error,
            "finished": self.finished,
            "files": self.files,
            "version": self.version,
        }


# --- the child's side ---------------------------------------------------------------------


class JsonLinesReporter:
    """A pipeline Reporter that writes each event as one JSON line for the parent to read."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def _emit(self, **event: Any) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()

    def stage(self, description: str) -> None:
        self._emit(event="stage", text=description)

    def message(self, text: str) -> None:
        self._emit(event="message", text=text)

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        self._emit(event="status", text=text)
        yield

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        self._emit(event="task", label=label, done=0, total=total)
        last = [0.0]

        def advance(done: int) -> None:
            now = time.monotonic()
            if done >= total or now - last[0] >= PROGRESS_INTERVAL:
                last[0] = now
                self._emit(event="task", label=label, done=done, total=total)

        yield advance


def run_job(spec: JobSpec, db: str, out: Path, reporter: JsonLinesReporter) -> None:
    """Run ``spec`` on store ``db`` into the new folder ``out``."""
    from neuroreview.pipeline.analysis import AnalysisRequest, run_analysis
    from neuroreview.pipeline.config import ReviewConfig, meta_analysis_settings
    from neuroreview.pipeline.review import run_review

    config = ReviewConfig(db=db, out=out, iterations=spec.iterations, seed=spec.seed, jobs=1)
    if spec.kind == "review":
        run_review(config, reporter)
        return
    # A review run's settings for this method (neuroreview analyze's defaults).
    settings = meta_analysis_settings(spec.method, config)
    # The whole store, unfiltered (the filters ``neuroreview analyze`` offers, none given).
    filters = dict.fromkeys(
        ("--population", "--modality", "--direction", "--space", "--year", "--year-from")
        + ("--year-to", "--study")
    ) | {"--direction": spec.direction}
    impute = "median" if spec.impute_sample_size and spec.method == "ale" else None
    request = AnalysisRequest(
        settings=settings, out=out, db=db, filters=filters, impute_sample_size=impute
    )
    run_analysis(request, reporter)


def _child_main(argv: list[str]) -> int:
    """``python -m neuroreview.pipeline.jobs SPEC DB OUT``: what the parent starts."""
    spec, db, out = JobSpec.model_validate_json(argv[0]), argv[1], Path(argv[2])
    reporter = JsonLinesReporter(sys.stdout)
    try:
        run_job(spec, db, out, reporter)
    except KeyboardInterrupt:
        reporter._emit(event="cancelled")
        return 130
    except NeuroreviewError as error:
        reporter._emit(event="error", text=str(error))
        return 1
    reporter._emit(event="done")
    return 0


# --- the parent's side ---------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Job:
    """One run in a child process, its progress read from the child's output by a thread."""

    def __init__(self, job_id: str, spec: JobSpec, db: str, folder: Path, started_by: str) -> None:
        self.id = job_id
        self.out = folder / job_id
        self.record_path = folder / f"{job_id}.json"
        self._changed = threading.Condition()
        self._state = JobRecord(
            id=job_id,
            kind=spec.kind,
            spec=spec.model_dump(),
            started_by=started_by,
            started=_now(),
            status="running",
        )
        self._stderr: deque[str] = deque(maxlen=40)
        self._cancelled = False
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self._save()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "neuroreview.pipeline.jobs",
                spec.model_dump_json(),
                db,
                str(self.out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        threading.Thread(target=self._read_errors, daemon=True).start()
        self._reader = threading.Thread(target=self._read_progress, daemon=True)
        self._reader.start()

    def snapshot(self) -> JobRecord:
        with self._changed:
            return self._state

    def wait_for_change(self, version: int, timeout: float) -> JobRecord:
        """The state once its version passes ``version`` (or after ``timeout`` seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: self._state.version > version, timeout=timeout)
            return self._state

    def cancel(self) -> None:
        """SIGINT now (the run unwinds and removes its partial folder); kill after the grace."""
        if self.process.poll() is not None:
            return
        self._cancelled = True
        self.process.send_signal(signal.SIGINT)

        def reap() -> None:
            try:
                self.process.wait(CANCEL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)

        threading.Thread(target=reap, daemon=True).start()

    def join(self, timeout: float) -> None:
        """Wait until the run has stopped and its record is saved (or ``timeout`` seconds)."""
        self._reader.join(timeout)

    def _update(self, **changes: Any) -> None:
        with self._changed:
            values = {**self._state.__dict__, **changes, "version": self._state.version + 1}
            self._state = JobRecord(**values)
            self._changed.notify_all()

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _read_progress(self) -> None:
        assert self.process.stdout is not None
        error = None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a library printing to stdout: not an event
            kind = event.get("event")
            if kind == "stage":
                self._update(stage=event["text"], task=None)
            elif kind in ("status", "message"):
                messages = [*self._state.messages, event["text"]][-20:]
                self._update(messages=messages)
            elif kind == "task":
                task = {k: event[k] for k in ("label", "done", "total")}
                self._update(task=task)
            elif kind == "error":
                error = event["text"]
        code = self.process.wait()
        if self._cancelled or code in (130, -signal.SIGINT, -signal.SIGKILL):
            status = "cancelled" if self._cancelled else "failed"
        else:
            status = "done" if code == 0 else "failed"
        if status == "failed" and error is None:
            tail = [line for line in self._stderr if line.strip()]
            error = f"the run stopped unexpectedly (exit {code})" + (
                f": {tail[-1]}" if tail else ""
            )
        if status == "done":
            files = run_files(self.out)
        else:
            from neuroreview.io.staging import remove_stale

            remove_stale(self.out)  # what a killed child could not remove itself
            files = []
        self._update(status=status, error=error, finished=_now(), files=files)
        self._save()

    def _save(self) -> None:
        from neuroreview.io.atomic import atomic_write_text

        atomic_write_text(self.record_path, json.dumps(self.snapshot().to_json(), indent=1))


def run_files(folder: Path) -> list[str]:
    """The files a finished run wrote, as paths relative to its folder, sorted."""
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _stored_record(path: Path) -> JobRecord:
    """A run's record from an earlier server; one that cannot be read is listed as such."""
    try:
        values = json.loads(path.read_text())
        if values.get("status") == "running":
            # Its server stopped while it ran: it did not finish.
            values |= {"status": "failed", "error": "the server stopped during the run"}
        return JobRecord(**values)
    except (OSError, ValueError, TypeError) as error:
        return JobRecord(
            id=path.stem,
            kind="unknown",
            spec={},
            started_by="unknown",
            started="unknown",
            status="failed",
            error=f"its record {path.name} cannot be read ({error})",
        )


class JobBoard:
    """The runs of a server's projects: those running now, and those on disk from before."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()

    def _project_folder(self, slug: str) -> Path:
        if self.folder is None:
            raise NeuroreviewError("this server has no folder for runs; start it with --runs DIR")
        return self.folder / slug

    def start(self, slug: str, db: str, spec: JobSpec, started_by: str) -> JobRecord:
        folder = self._project_folder(slug)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise NeuroreviewError(
                f"cannot write runs to {folder}: {error.strerror or error}"
            ) from None
        with self._lock:
            if any(
                s == slug and job.snapshot().status == "running"
                for (s, _), job in self._jobs.items()
            ):
                raise NeuroreviewError(
                    f"a run of {slug!r} is running; wait for it or cancel it first"
                )
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            job_id, n = f"{stamp}-{spec.kind}", 1
            while (folder / job_id).exists() or (folder / f"{job_id}.json").exists():
                n += 1
                job_id = f"{stamp}-{spec.kind}-{n}"
            job = Job(job_id, spec, db, folder, started_by)
            self._jobs[(slug, job_id)] = job
        return job.snapshot()

    def job(self, slug: str, job_id: str) -> Job | None:
        return self._jobs.get((slug, job_id))

    def record(self, slug: str, job_id: str) -> JobRecord:
        job = self.job(slug, job_id)
        if job is not None:
            return job.snapshot()
        for found in self.records(slug):
            if found.id == job_id:
                return found
        raise NeuroreviewError(f"no run {job_id!r} in project {slug!r}")

    def records(self, slug: str) -> list[JobRecord]:
        """Every run of the project, newest first."""
        if self.folder is None:
            return []
        found = {job_id: job.snapshot() for (s, job_id), job in self._jobs.items() if s == slug}
        folder = self.folder / slug
        for path in folder.glob("*.json") if folder.is_dir() else []:
            if path.stem in found:
                continue
            found[path.stem] = _stored_record(path)
        return sorted(found.values(), key=lambda r: r.id, reverse=True)

    def file(self, slug: str, job_id: str, relative: str) -> Path:
        """A file of a finished run, refusing any path that leaves the run's folder."""
        record = self.record(slug, job_id)
        if relative not in record.files:
            raise NeuroreviewError(f"run {job_id!r} has no file {relative!r}")
        return self._project_folder(slug) / job_id / relative

    def map_preview(self, slug: str, job_id: str, relative: str) -> bytes:
        """A glass brain (PNG) of a run's z map, with the clusters beside it if there are."""
        from neuroreview.io.layout import CLUSTER_IMAGE
        from neuroreview.report.figures import map_preview_png

        if not relative.endswith("z.nii.gz"):
            raise NeuroreviewError(f"{relative!r} is not a z map; only z maps are previewed")
        path = self.file(slug, job_id, relative)
        return map_preview_png(path, path.parent / CLUSTER_IMAGE)

    def cancel_all(self, wait: float = CANCEL_GRACE_SECONDS + RECORD_GRACE_SECONDS) -> None:
        """Cancel every running run (the server is stopping) and wait up to ``wait`` seconds
        for them to stop, so that each one's record says it was cancelled. The default outlasts
        the grace before a kill, so that even a killed run's record says so."""
        jobs = [job for job in self._jobs.values() if job.snapshot().status == "running"]
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + wait
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(_child_main(sys.argv[1:]))

"""Where Monte Carlo blocks run: one interface, in-process or in a pool of worker processes.

The engine hands an executor three things: a ``setup`` that turns a picklable ``payload`` (the
:class:`~neuroreview.cbma.base.NullProblem`) into per-worker state, a ``work`` function that
runs one task against that state, and the tasks. The payload travels to each worker once (as
the pool's initializer argument), never once per task, and results come back in task order so
the caller can stop early at a fixed task without the result depending on how many workers
ran. A Dask executor only needs the same ``map_blocks``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

P = TypeVar("P")
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``work(setup(payload), task)`` for every task; yields results in task order.

    Closing the returned iterator early cancels work not yet started.
    """

    def map_blocks(
        self,
        setup: Callable[[P], S],
        payload: P,
        work: Callable[[S, T], R],
        tasks: Iterable[T],
    ) -> Iterator[R]: ...


class SerialExecutor:
    """Runs every task in this process, one after another."""

    def map_blocks(
        self,
        setup: Callable[[P], S],
        payload: P,
        work: Callable[[S, T], R],
        tasks: Iterable[T],
    ) -> Iterator[R]:
        state = setup(payload)
        for task in tasks:
            yield work(state, task)


_WORKER_STATE: Any = None


def _initialize_worker(setup: Callable[[Any], Any], payload: Any) -> None:
    global _WORKER_STATE
    _WORKER_STATE = setup(payload)


def _run_in_worker(work: Callable[[Any, Any], Any], task: Any) -> Any:
    return work(_WORKER_STATE, task)


class ProcessExecutor:
    """Runs tasks in ``n_jobs`` worker processes.

    Workers start from a fork server by default (``start_method="forkserver"`` where the
    platform has one, else ``"spawn"``), never by forking the caller: a caller with threads (a
    progress bar, BLAS) can deadlock a forked child. The server preloads the module that
    defines ``work``, so a worker starts in a fraction of a second instead of importing numpy
    and numba anew. As with any non-fork start method, a script that uses this must guard its
    entry point with ``if __name__ == "__main__":``. At most ``2 * n_jobs`` tasks are in
    flight, so stopping early wastes little and results never pile up in memory.
    """

    def __init__(self, n_jobs: int, start_method: str | None = None) -> None:
        if n_jobs < 1:
            raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
        if start_method is None:
            methods = multiprocessing.get_all_start_methods()
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        self.n_jobs = n_jobs
        self.start_method = start_method

    def map_blocks(
        self,
        setup: Callable[[P], S],
        payload: P,
        work: Callable[[S, T], R],
        tasks: Iterable[T],
    ) -> Iterator[R]:
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload([work.__module__])
        pool = ProcessPoolExecutor(
            max_workers=self.n_jobs,
            mp_context=context,
            initializer=_initialize_worker,
            initargs=(setup, payload),
        )
        pending: deque[Future[R]] = deque()
        todo = iter(tasks)
        try:
            for task in todo:
                pending.append(pool.submit(_run_in_worker, work, task))
                if len(pending) >= 2 * self.n_jobs:
                    break
            while pending:
                result = pending.popleft().result()
                for task in todo:
                    pending.append(pool.submit(_run_in_worker, work, task))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def make_executor(n_jobs: int) -> SerialExecutor | ProcessExecutor:
    """Serial for ``n_jobs == 1``, else a process pool (``n_jobs <= 0``: one per CPU)."""
    if n_jobs <= 0:
        n_jobs = os.cpu_count() or 1
    return SerialExecutor() if n_jobs == 1 else ProcessExecutor(n_jobs)

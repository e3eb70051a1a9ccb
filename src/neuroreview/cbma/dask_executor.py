"""The Monte Carlo engine on a Dask cluster: the same ``map_blocks`` as the local executors.

The payload (a :class:`~neuroreview.cbma.base.NullProblem`, megabytes of kernels and masks) is
scattered to every worker once; each task then names it by its key, and each worker thread builds
the per-worker state (``setup``) once per payload and keeps it, as the local threads do. A task is
one seeded block, whose random stream depends only on the seed and the block's index, so the
result has the same bytes on a cluster as in this process, whatever the number of workers.

Results are taken in task order with a bounded number in flight, so an early stop works as it
does locally and results do not pile up on the scheduler. Tasks lost with a worker are re-run
elsewhere by Dask's scheduler; an exception inside a task is retried ``retries`` times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

P = TypeVar("P")
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

#: Per worker thread: payload key -> the state ``setup`` built from it (scratch buffers are not
#: shared between threads, as in :class:`~neuroreview.cbma.parallel.ThreadExecutor`).
_STATES = threading.local()


def _run(setup: Callable[[P], S], payload: P, work: Callable[[S, T], R], key: str, task: T) -> R:
    states: dict[str, Any] = getattr(_STATES, "by_key", None) or {}
    _STATES.by_key = states
    if key not in states:
        states.clear()  # one payload at a time: a finished analysis's state is dropped
        states[key] = setup(payload)
    return work(states[key], task)


class DaskExecutor:
    """Runs tasks on the workers of a ``distributed.Client``.

    ``client`` is a connected client, or a scheduler address (``tcp://host:8786``) to connect to.
    ``in_flight`` bounds the tasks submitted ahead of the one awaited (default: two per worker
    thread).
    """

    def __init__(self, client: Any, in_flight: int | None = None, retries: int = 2) -> None:
        from distributed import Client

        self.client = client if isinstance(client, Client) else Client(client)
        self.in_flight = in_flight
        self.retries = retries

    def _capacity(self) -> int:
        if self.in_flight is not None:
            return max(1, self.in_flight)
        threads = sum(self.client.nthreads().values())
        return max(2, 2 * threads)

    def map_blocks(
        self,
        setup: Callable[[P], S],
        payload: P,
        work: Callable[[S, T], R],
        tasks: Iterable[T],
    ) -> Iterator[R]:
        from neuroreview.cbma.parallel import in_order

        def scatter() -> Any:
            # In a list: scatter() would split a tuple payload into one future per item.
            (future,) = self.client.scatter([payload], broadcast=True, hash=False)
            return future

        held = {"payload": scatter()}
        key = str(held["payload"].key)

        def submit(task: T) -> _Resubmitting:
            return _Resubmitting(
                lambda: self.client.submit(
                    _run, setup, held["payload"], work, key, task, pure=False, retries=self.retries
                ),
                lambda: held.update(payload=scatter()),
                self.retries,
            )

        yield from in_order(submit, self._capacity(), tasks, lambda: held["payload"].release())


class _Resubmitting:
    """A task's future that is submitted again when the scheduler cancels it.

    When a worker dies, a task waiting on the scattered payload can be cancelled ("already
    forgotten") rather than re-run; the payload is then scattered again and the task, a seeded
    block whose result does not depend on where it runs, is submitted again, ``retries`` times.
    """

    def __init__(self, submit: Callable[[], Any], rescatter: Callable[[], None], retries: int):
        self._submit = submit
        self._rescatter = rescatter
        self._left = retries
        self._future = submit()

    def result(self) -> Any:
        from concurrent.futures import CancelledError

        while True:
            try:
                return self._future.result()
            except CancelledError:
                if self._left <= 0:
                    raise
                self._left -= 1
                self._rescatter()
                self._future = self._submit()

    def cancel(self) -> None:
        self._future.cancel()

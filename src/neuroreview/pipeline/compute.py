"""Where a command's Monte Carlo runs: threads of this process, or a Dask cluster.

A command opens one :func:`computing` session around all its work, so a run's several
meta-analyses, questions and contrasts share one cluster (a local cluster starts once, not per
analysis), and every step asks :func:`executor` for where to run. Results do not depend on the
answer: each Monte Carlo block and each permutation piece is seeded by its index, so a cluster
gives the bytes the local threads give.

``--scheduler tcp://HOST:PORT`` connects to a cluster someone already runs (``dask scheduler``
and ``dask worker`` on other machines); ``--workers N`` starts a ``LocalCluster`` of N
single-threaded worker processes for this command and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuroreview.errors import NeuroreviewError

if TYPE_CHECKING:
    from distributed import Client

    from neuroreview.cbma.parallel import Executor

#: Seconds to wait for a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Cluster:
    """The Dask cluster a command runs on, as its records name it."""

    executor: Executor
    scheduler: str
    workers: int
    local: bool

    def record(self) -> dict[str, Any]:
        """What analysis.json and summary.json say about where the iterations ran."""
        return {
            "scheduler": "local cluster" if self.local else self.scheduler,
            "workers": self.workers,
        }


_ACTIVE: ContextVar[Cluster | None] = ContextVar("neuroreview_cluster", default=None)


def check_options(scheduler: str | None, workers: int | None) -> None:
    """Refuse contradictory cluster options before any work is done."""
    if scheduler is not None and workers is not None:
        raise NeuroreviewError(
            "give --scheduler (a running cluster) or --workers (a local one), not both"
        )
    if workers is not None and workers < 1:
        raise NeuroreviewError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and "://" not in scheduler:
        raise NeuroreviewError(
            f"--scheduler must be an address such as tcp://host:8786, got {scheduler!r}"
        )


@contextlib.contextmanager
def computing(
    scheduler: str | None = None, workers: int | None = None, client: Client | None = None
) -> Iterator[Cluster | None]:
    """Run the Monte Carlo of everything inside on a Dask cluster, if one is asked for.

    ``client`` (a connected ``distributed.Client``, the Python API's way) is used as given and
    left open; a ``scheduler`` address is connected to and a ``workers`` local cluster started,
    and both are closed on the way out, Ctrl-C included. With none of them, nothing changes.
    """
    check_options(scheduler, workers)
    if client is None and scheduler is None and workers is None:
        yield None
        return
    with contextlib.ExitStack() as stack:
        cluster = _open(stack, scheduler, workers, client)
        token = _ACTIVE.set(cluster)
        stack.callback(_ACTIVE.reset, token)
        yield cluster


def _open(
    stack: contextlib.ExitStack, scheduler: str | None, workers: int | None, client: Any
) -> Cluster:
    from distributed import Client, LocalCluster

    from neuroreview.cbma.dask_executor import DaskExecutor

    local = False
    if client is None and workers is not None:
        local_cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # Any free port: the default (8787) may be taken by another cluster, which only
            # costs a warning, but a warning a user has to read.
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        stack.callback(local_cluster.close)
        client = stack.enter_context(Client(local_cluster))
        local = True
    elif client is None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except OSError as error:  # a timeout is an OSError too
            raise NeuroreviewError(
                f"cannot reach the Dask scheduler at {scheduler}: {error}"
            ) from None
        stack.callback(client.close)
    n_workers = len(client.scheduler_info().get("workers", {}))
    if n_workers == 0:
        raise NeuroreviewError(
            f"the Dask scheduler at {client.scheduler.address} has no workers; start some "
            "(dask worker ADDRESS) and try again"
        )
    return Cluster(
        executor=DaskExecutor(client),
        scheduler=str(client.scheduler.address),
        workers=n_workers,
        local=local,
    )


def executor(n_jobs: int) -> Executor:
    """The active cluster's executor, else ``n_jobs`` threads of this process."""
    from neuroreview.cbma.parallel import make_executor

    cluster = _ACTIVE.get()
    return cluster.executor if cluster is not None else make_executor(n_jobs)


def active() -> Cluster | None:
    """The cluster of the current :func:`computing` session, if any."""
    return _ACTIVE.get()


def cluster_record() -> dict[str, Any]:
    """``{"dask": {...}}`` while a cluster is active, else nothing: a local run's records keep
    the keys they always had."""
    cluster = _ACTIVE.get()
    return {} if cluster is None else {"dask": cluster.record()}

"""Where blocks of replications run: this process, a local process pool, or a Dask cluster.

A block's result depends only on (scenario, replications, seed), never on where or in which
order it ran, so every executor gives the same numbers bit for bit; they differ in speed.
Results come back block by block as they finish (``as_completed``), so the caller can show
progress and nothing waits for the slowest block to be gathered with the rest.

Dask: ``Executor(scheduler="tcp://HOST:PORT")`` connects to a running cluster
(``dask scheduler`` / ``dask worker tcp://HOST:PORT``); each worker compiles or loads the
numerical kernels once, when it joins (a worker plugin), not per task.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

__all__ = ["ClusterError", "Executor"]

J = TypeVar("J")
R = TypeVar("R")


class ClusterError(RuntimeError):
    """The Dask scheduler cannot be reached or used; the message says which and why."""


def _init_worker() -> None:
    # One BLAS thread per worker: replications are the parallelism.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _warm_plugin() -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class BastionWarmup(WorkerPlugin):  # type: ignore[misc]
        """Load (or compile) bastion's kernels once per worker, when it joins."""

        name = "bastion-warmup"

        def setup(self, worker: Any) -> None:
            _init_worker()
            from bastion.sim.warmup import warmup

            warmup()

    return BastionWarmup()


class Executor:
    """Run ``fn`` over jobs: in process (``workers=1``), on a local process pool, or on the
    Dask cluster at ``scheduler`` (or an existing ``client``)."""

    def __init__(self, workers: int = 1, *, scheduler: str | None = None,
                 client: Any = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._own_client = False
        self.client = client
        if scheduler is not None and client is None:
            self.client = _connect(scheduler)
            self._own_client = True
        if self.client is not None:
            try:
                self.client.register_plugin(_warm_plugin())
            except Exception as exc:  # e.g. a worker without bastion installed
                raise ClusterError(f"cluster workers could not load bastion: {exc}") from None
            threads = sum(self.client.nthreads().values())
            self.workers = max(1, threads)
        else:
            self.workers = workers

    @property
    def kind(self) -> str:
        return "dask" if self.client is not None else (
            "processes" if self.workers > 1 else "in-process")

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        """Yield ``fn(job)`` for every job, in the order they finish."""
        if self.client is not None:
            yield from self._run_dask(fn, jobs)
        elif self.workers == 1 or len(jobs) <= 1:
            yield from map(fn, jobs)
        else:
            pool = ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)),
                                       initializer=_init_worker)
            try:
                futures = [pool.submit(fn, j) for j in jobs]
                for f in as_completed(futures):
                    yield f.result()
            except BaseException:
                # Ctrl-C (or the caller stopped early): a plain shutdown would run every
                # queued block first (minutes on a big run), and a worker that catches the
                # interrupt in one block goes on to the next: drop the queue and stop the
                # workers (Python 3.14 has terminate_workers(); 3.11 keeps them here).
                procs = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in procs:
                    proc.terminate()
                raise
            pool.shutdown(wait=True)

    def _run_dask(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        from distributed import as_completed as dask_completed

        futures = self.client.map(fn, list(jobs), pure=False)
        try:
            for fut in dask_completed(futures, loop=self.client.loop):
                res = fut.result()
                fut.release()  # the cluster forgets the block once the client holds it
                yield res
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency
        raise ClusterError("--scheduler needs dask.distributed: pip install "
                           "'dask[distributed]'") from None
    if "://" not in address:
        address = f"tcp://{address}"
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--scheduler {address}: cannot connect ({exc}); is "
                           f"`dask scheduler` running there?") from None

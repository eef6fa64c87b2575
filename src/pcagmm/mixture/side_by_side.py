"""Many fits side by side: on the threads of this process, or as tasks on a Dask cluster.

What a model-selection sweep and a stability study share: each fit is
``function(X, *args, threads=...)`` on one of a few arrays (``data[key]``), and the fits,
not their passes, are the parallel work. On threads each fit's passes and BLAS run on one
thread; on Dask every array is sent to every worker once and each fit is one task. Results
come back as the fits finish, with the number of the task they belong to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator, Sequence

from ..rows.chunks import THREADS, blas_threads


@dataclasses.dataclass(frozen=True)
class Task:
    """One fit: ``function(data[key], *args, threads=...)``."""

    key: Hashable
    function: Callable
    args: tuple


def fit_side_by_side(
    data: dict,
    tasks: Sequence[Task],
    *,
    order: Sequence[int] | None = None,
    n_jobs: int | None = None,
    client=None,
) -> Iterator[tuple[int, object]]:
    """Run every task; yield ``(task number, result)`` as each finishes.

    ``order`` is the order the tasks start in (default: as given; a sweep starts its
    costliest first, and on Dask gives them that priority). With a Dask ``client``
    each task runs on a worker with ``threads=1``; else on ``n_jobs`` threads (None: one
    per core) with ``threads=1`` each, or with ``n_jobs=1`` (or one task) one at a time
    in the order given, each with ``threads=None`` (every core).
    """
    order = range(len(tasks)) if order is None else order
    if client is not None:
        yield from _on_dask(client, data, tasks, order)
        return
    workers = THREADS if n_jobs is None else max(1, int(n_jobs))
    if workers == 1 or len(tasks) == 1:
        for index, task in enumerate(tasks):
            yield index, task.function(data[task.key], *task.args, threads=None)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    # BLAS on one thread for every fit (the limit is process-wide), each fit's passes on
    # one thread too: the fits are the parallel work
    with blas_threads(1), ThreadPoolExecutor(workers) as pool:
        pending = {}
        for index in order:
            task = tasks[index]
            future = pool.submit(task.function, data[task.key], *task.args, threads=1)
            pending[future] = index
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()


def _on_dask(client, data, tasks, order):
    from distributed import as_completed

    keys = list(data)
    # a key of its own (not the content's hash): another sweep or study of the same rows
    # that ends would otherwise release the rows under these tasks
    scattered = client.scatter([data[key] for key in keys], broadcast=True, hash=False)
    on_workers = dict(zip(keys, scattered, strict=True))
    futures = {}
    for rank, index in enumerate(order):
        task = tasks[index]
        future = client.submit(
            task.function, on_workers[task.key], *task.args, threads=1,
            pure=False, priority=-rank,
        )  # fmt: skip
        futures[future] = index
    for future in as_completed(futures):
        yield futures[future], future.result()

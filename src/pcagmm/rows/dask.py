"""The Dask driver: the same chunk statistics, computed where the blocks live.

A fit on a Dask array is the fit on a memory map, cut differently: each block of
rows gives its sums (:class:`~pcagmm.decomposition.scatter.ScatterSums` for PCA,
:class:`~pcagmm.mixture.kernels.Sums` for an EM pass) on the worker that holds or
reads it, and the sums are added in a fixed tree of tasks on the workers. Only
those sums (a few KiB to a few MiB) travel between processes, never rows, and only
the final sum comes back to the client. The tree follows the block order, so the
result does not depend on which worker finishes first, and a task Dask recomputes
after a worker is lost gives the same numbers.

Dask is optional (``pip install 'pcagmm[dask]'``): it is imported only when a Dask
array or a ``--dask`` address is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ParameterError, literal
from ..progress import rows_done

INSTALL_HINT = "install it with: pip install 'pcagmm[dask]'"
#: sums added per task in the reduction tree
SPLIT_EVERY = 8
#: bytes per block when a memory-mapped file is cut into blocks (64 MiB)
DEFAULT_BLOCK_BYTES = 64 << 20


class DaskError(ParameterError):
    """Dask is missing, or a cluster cannot be reached or used.

    Its messages name the ``dask`` parameter as the caller spells it (``dask=local``
    in Python, ``--dask local`` on the command line); see
    :class:`~pcagmm.errors.ParameterError`.

    Parameters
    ----------
    problem, fix : str
        Templates of what is wrong and of what to do about it.
    """


def import_dask():
    """``dask.array``, or a :class:`DaskError` saying how to install it."""
    try:
        import dask.array as da
    except ImportError:
        raise DaskError(
            "Dask is not installed, and a Dask array or cluster was asked for",
            literal(INSTALL_HINT),
        ) from None
    return da


# ----------------------------------------------------------------------------- arrays


def block_rows_for(n_features: int, itemsize: int, block_bytes: int | None = None) -> int:
    """Rows per block so a block holds about ``block_bytes`` (64 MiB by default)."""
    return max(1024, (block_bytes or DEFAULT_BLOCK_BYTES) // max(1, n_features * itemsize))


def from_memmap(X: np.memmap, block_rows: int | None = None):
    """Make a Dask array over the file behind a memory map, one read task per block.

    Each task maps the file and gives its rows, so the graph holds only the path,
    and a worker reads only the blocks it works on. (``dask.array.from_array`` on a
    memory map would put the whole map into the graph.) The workers must see the
    file at the same path: the same machine, or a shared file system.

    Parameters
    ----------
    X : numpy.memmap
        A memory map of a file, e.g. ``np.load("big.npy", mmap_mode="r")``.
    block_rows : int, optional
        Rows per block (default: about 64 MiB a block).

    Returns
    -------
    dask.array.Array
        The rows, in blocks of ``block_rows``.

    Raises
    ------
    DaskError
        When Dask is not installed (``pip install 'pcagmm[dask]'``).
    """
    da = import_dask()
    import dask

    path, offset = os.fspath(X.filename), _memmap_offset(X)
    n = X.shape[0]
    row_shape = X.shape[1:]
    block_rows = block_rows or block_rows_for(int(np.prod(row_shape)), X.dtype.itemsize)
    read = dask.delayed(_read_rows, pure=True)
    blocks = []
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        rows = read(path, offset, X.dtype.str, X.shape, start, stop)
        blocks.append(da.from_delayed(rows, shape=(stop - start, *row_shape), dtype=X.dtype))
    return da.concatenate(blocks, axis=0)


def _memmap_offset(X: np.memmap) -> int:
    """Byte offset in its file of the first element of ``X`` (a memory map or a view of one)."""
    base = X
    while isinstance(base.base, np.ndarray):
        base = base.base
    start = X.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if not X.flags.c_contiguous:
        raise DaskError(
            "a strided view of a memory map cannot be cut into Dask blocks",
            "pass the memory map itself, or a row range of it",
        )
    return int(base.offset) + start


def _read_rows(path, offset, dtype, shape, start, stop) -> np.ndarray:
    """Rows ``start:stop`` of the file as a read-only memory map, not a copy.

    The task that consumes the block reads it chunk by chunk and releases the pages
    behind it (:func:`~pcagmm.rows.chunks.release_rows`), as a streamed pass does; a copy
    would cost a fresh 64 MiB array a block (measured: 15-170 ms each, a sixth of
    the block's statistics). Should Dask move the block to another worker, it is
    pickled as a plain array.
    """
    rows = np.memmap(path, dtype=np.dtype(dtype), mode="r", offset=offset, shape=tuple(shape))
    return rows[start:stop]


def as_dask_array(X, block_rows: int | None = None):
    """Make ``X`` a Dask array cut into blocks of rows (memory maps read per block).

    Parameters
    ----------
    X : array-like, memory map or Dask array
        The rows; a Dask array is returned as it is.
    block_rows : int, optional
        Rows per block (default: about 64 MiB a block).

    Returns
    -------
    dask.array.Array
        The rows (a memory map through :func:`from_memmap`).

    Raises
    ------
    DaskError
        When Dask is not installed (``pip install 'pcagmm[dask]'``).
    """
    if type(X).__module__.startswith("dask."):
        return X
    if isinstance(X, np.memmap) and X.flags.c_contiguous and X.filename is not None:
        return from_memmap(X, block_rows)
    da = import_dask()
    X = np.asarray(X)
    rows = block_rows or block_rows_for(int(np.prod(X.shape[1:])), X.dtype.itemsize)
    return da.from_array(X, chunks=(rows, *X.shape[1:]))


def fewer_blocks(X, block_bytes: int = 8 << 20):
    """Merge neighbouring blocks of ``X`` into blocks of at least ``block_bytes``.

    A projection has the rows of the data in far fewer bytes; in the data's blocks
    an EM pass would be mostly scheduling (99 tasks of ~5 ms each at 8.4 million
    rows). Merging moves each row of the projection at most once, before the passes.

    Parameters
    ----------
    X : dask.array.Array
        The rows, in blocks of rows.
    block_bytes : int, default=8 MiB
        The smallest size of a block.

    Returns
    -------
    dask.array.Array
        ``X`` itself when its blocks are large enough (or it has one), else ``X``
        rechunked.
    """
    rows = max(1, block_bytes // max(1, X.shape[1] * X.dtype.itemsize))
    if max(X.chunks[0]) >= rows or X.numblocks[0] == 1:
        return X
    return X.rechunk({0: rows, 1: -1})


def persist(X):
    """Compute ``X`` and keep it on the workers, its rows reported as its blocks finish.

    Parameters
    ----------
    X : dask.array.Array
        The rows.

    Returns
    -------
    dask.array.Array
        ``X`` persisted: its blocks are held in the workers' memory.
    """
    from distributed import as_completed, futures_of

    X = X.persist()
    sizes = X.chunks[0]
    for future in as_completed(futures_of(X)):
        key = future.key
        rows_done(int(sizes[key[1]]) if isinstance(key, tuple) and len(key) > 1 else 0)
    return X


class DaskRows:
    """The driver for a Dask array: block functions run on the workers, sums added there.

    Functions run one thread a block (the workers run blocks side by side), and keep
    nothing row-sized between passes. The rows are not checked for NaN and infinity
    up front (that would cost a pass): they show in the sums, which are checked.
    """

    name = "Dask"
    threads = 1
    keeps_row_data = False

    def validate(self, estimator, X, *, reset: bool, **checks):
        """Check the array's shape and dtype without computing it (``checks`` are
        scikit-learn's options for local arrays, not used here)."""
        return validate_dask_array(estimator, X, reset)

    def reduce(self, function, X, *args):
        """``function(block, *args)`` summed over the row blocks, on the workers."""
        total = reduce_blocks(function, X, *args)
        if not total.is_finite():
            raise ValueError(
                "Input X contains NaN or infinity (the sums of its rows are not finite)"
            )
        return total

    def map(self, function, X, n_columns, dtype, *args):
        """A lazy Dask array of ``function(block, *args)`` for each row block."""
        return map_row_blocks(function, X, n_columns, dtype, *args)

    def gather(self, X) -> np.ndarray:
        """The rows computed into one array in this process (NaN and inf refused)."""
        rows = gather(X)
        if not np.all(np.isfinite(rows)):
            raise ValueError("Input X contains NaN or infinity")
        return rows

    def take(self, X, rows: np.ndarray) -> np.ndarray:
        """Only the given rows (sorted row numbers) come to this process."""
        return np.asarray(X[rows].compute())

    def check_sample_weight(self, sample_weight) -> None:
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported with a Dask array; "
                "fit on a NumPy array or memory map to weight the rows"
            )


DASK = DaskRows()


def validate_dask_array(estimator, X, reset: bool):
    """Check a Dask array's shape and dtype for ``estimator`` without computing it.

    ``reset`` (a fit) records ``n_features_in_``; otherwise the width must match it.
    """
    if X.ndim != 2 or X.dtype.kind not in "uif":
        raise ValueError(f"Expected a 2-D numeric Dask array, got shape {X.shape} of {X.dtype}")
    n, d = X.shape
    if reset:
        if n < 2:
            raise ValueError(f"Found array with {n} sample(s) while a minimum of 2 is required")
        estimator.n_features_in_ = d
    elif d != estimator.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input"
        )
    return X


def row_blocks(X) -> list:
    """The row blocks of a 2-D Dask array (whole rows each) as Delayed objects."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D Dask array, got {X.ndim} dimensions")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})  # a block holds whole rows
    return list(X.to_delayed(optimize_graph=False)[:, 0])


# ----------------------------------------------------------------------------- reductions


def add_all(*parts):
    """The sum of sums objects (each with an in-place ``add``); the first is copied."""
    import copy

    total = copy.deepcopy(parts[0])
    for part in parts[1:]:
        total.add(part)
    return total


def reduce_blocks(function: Callable, X, *args, **kwargs):
    """``function(block, *args)`` summed over the row blocks of ``X``, on the workers.

    With a ``distributed`` client, the block results stay on the workers, the tree of
    additions runs there, and rows are reported to :func:`~pcagmm.progress.rows_done`
    as blocks finish. Without one, Dask's local scheduler runs the same tree in this
    process's threads (whose passes report their rows as they go).
    """
    import dask

    blocks = row_blocks(X)
    sizes = X.chunks[0]
    tasks = [dask.delayed(function, pure=True)(block, *args, **kwargs) for block in blocks]
    client = _current_client()
    if client is None:
        # the blocks run in this process's threads and report their rows themselves
        (total,) = dask.compute(_tree(tasks, dask.delayed(add_all, pure=True)))
        return total
    from distributed import as_completed

    futures = client.compute(tasks)
    size_of = {future.key: size for future, size in zip(futures, sizes, strict=True)}
    total = _tree(futures, lambda *parts: client.submit(add_all, *parts, pure=False))
    for future in as_completed(futures):
        rows_done(int(size_of[future.key]))
    return total.result()


def _tree(parts: list, add):
    """``add`` applied to groups of :data:`SPLIT_EVERY` parts, level by level, in order."""
    while len(parts) > 1:
        parts = [add(*parts[i : i + SPLIT_EVERY]) for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _current_client():
    """The distributed client in use, or None (also when distributed is not installed)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def map_row_blocks(function: Callable, X, n_columns: int | None, dtype, *args):
    """A Dask array of ``function(block, *args)`` for each row block of ``X``.

    ``n_columns`` is the width of each result (None for one value per row).
    """
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    if n_columns is None:
        return X.map_blocks(function, *args, dtype=dtype, chunks=(X.chunks[0],), drop_axis=1)
    return X.map_blocks(function, *args, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))


def gather(X) -> np.ndarray:
    """A Dask array computed into one NumPy array on the client."""
    return np.asarray(X.compute())


# ----------------------------------------------------------------------------- clusters


#: Dask config for the workers of a local cluster: without the ``MALLOC_TRIM_THRESHOLD_``
#: that Dask sets by default. With it glibc maps and unmaps every array above 64 KiB
#: afresh, and a mixture fit on a worker (a pass allocates its chunk arrays many
#: times) took 10.3 s instead of 4.7 s (MNIST-PCA-50, K = 6, full; 2 cores). Workers
#: started elsewhere take the same setting from their own Dask config.
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextlib.contextmanager
def _without_inherited_trim_threshold() -> Iterator[None]:
    """Leave Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` out of this process's environment
    while workers are spawned (they inherit it). A Dask nanny sets it in the process that
    starts it, so a process that has started a default cluster before carries it."""
    dasks_value = "65536"
    inherited = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    if inherited != dasks_value:
        yield
        return
    del os.environ["MALLOC_TRIM_THRESHOLD_"]
    try:
        yield
    finally:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = inherited


@contextlib.contextmanager
def connect(address: str, *, workers: int | None = None) -> Iterator:
    """Connect to the Dask cluster at ``address``, or start a LocalCluster for ``"local"``.

    The local cluster has one single-threaded worker process per core on 127.0.0.1
    (the statistics tasks hold the GIL only briefly, but BLAS and NumPy run best on
    one thread a process here). Its workers start without Dask's
    ``MALLOC_TRIM_THRESHOLD_=65536`` (with it, glibc maps and unmaps every array above
    64 KiB afresh). The client is the default one while the block runs.

    Parameters
    ----------
    address : str
        A scheduler's address (``tcp://host:8786``), or ``"local"``.
    workers : int, optional
        The local cluster's worker processes (default: one per core).

    Yields
    ------
    distributed.Client
        The client, closed (and the local cluster stopped) when the block ends.

    Raises
    ------
    DaskError
        When Dask is not installed, the scheduler cannot be reached within
        ``PCAGMM_DASK_TIMEOUT``, or it has no workers.
    """
    import_dask()
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskError(
            "Dask's distributed scheduler is not installed", literal(INSTALL_HINT)
        ) from None
    if address == "local":
        import dask

        with dask.config.set(WORKER_ENVIRONMENT):
            with _without_inherited_trim_threshold():
                cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            with cluster, Client(cluster, set_as_default=True) as client:
                yield client
        return
    from ..settings import dask_timeout

    timeout = dask_timeout()
    try:
        client = Client(address, timeout=timeout, set_as_default=True)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskError(
            literal(f"cannot reach the Dask scheduler at {address} ({str(exc).splitlines()[0]})"),
            "start one (dask scheduler; dask worker ADDRESS) or pass {dask=local}",
        ) from None
    with client:
        if not client.nthreads():
            with contextlib.suppress(Exception):
                client.wait_for_workers(1, timeout=timeout)
        if not client.nthreads():
            raise DaskError(
                literal(f"the Dask scheduler at {address} has no workers"),
                literal(f"start some with: dask worker {address}"),
            )
        yield client


def cluster_failure(exc: BaseException, address: str) -> DaskError | None:
    """The one-line error for a failure of the Dask cluster at ``address``, or None
    for an exception that did not come from Dask.

    A task that kills its worker on every try (a crash, or a block that needs more
    memory than a worker has) ends, after Dask's retries, in ``KilledWorker``; a
    scheduler that goes away cancels every future (``scheduler-connection-lost``).
    """
    if not type(exc).__module__.startswith(("distributed", "dask")):
        return None
    name = type(exc).__name__
    first_line = (str(exc).splitlines() or [""])[0]
    if name == "KilledWorker":
        tries = getattr(exc, "allowed_failures", None)
        tried = f"{tries + 1} workers" if isinstance(tries, int) else "every worker"
        return DaskError(
            literal(
                f"a Dask task killed {tried} that ran it ({getattr(exc, 'task', first_line)}):"
                " it crashes them, or needs more memory than a worker has"
            ),
            "look at the workers' logs; give the workers more memory "
            "(dask worker --memory-limit), then run again",
        )
    if "scheduler-connection-lost" in first_line or name == "CommClosedError":
        return DaskError(
            literal(f"lost the connection to the Dask scheduler at {address} mid-run"),
            "check that the scheduler is still running, then run again",
        )
    if name == "FutureCancelledError":
        return DaskError(
            literal(f"the Dask scheduler at {address} cancelled the run's tasks ({first_line})"),
            "check that the scheduler is still running and nobody cancelled them, then run again",
        )
    return DaskError(
        literal(f"the Dask cluster at {address} failed: {name} {first_line}"),
        "look at the workers' logs, then run again",
    )


@contextlib.contextmanager
def quiet_client_log() -> Iterator[None]:
    """Keep the client's own logs of a lost connection (tracebacks) quiet while a run
    holds it, and after a failure (the client keeps trying to reconnect until the
    process ends): the run reports the failure itself, in one line."""
    import logging

    import_dask()
    import distributed  # noqa: F401  (its import sets the levels of its loggers: first)

    logs = [logging.getLogger(name) for name in ("distributed.client", "distributed.batched")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    yield
    for log, level in zip(logs, levels, strict=True):  # only when the block succeeded
        log.setLevel(level)

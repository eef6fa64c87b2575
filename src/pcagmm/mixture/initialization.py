"""Where EM starts: the M-step sums of starting responsibilities.

The starts are scikit-learn's (``init_params``: ``"kmeans"``, ``"k-means++"``,
``"random"``, ``"random_from_data"``), drawing the same random numbers, so a fit
starts where scikit-learn's does; ``"hierarchical"`` is mclust's (see
:mod:`.hierarchical`). Above :data:`KMEANS_SAMPLE_ABOVE` rows the k-means
start runs on a sample and is then refined by Lloyd passes over every row, through
the row engine (on the workers for a Dask array).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading

import numpy as np

from ..rows.chunks import iter_row_chunks
from . import hierarchical, kernels
from .covariance import covariance_type
from .kernels import Sums

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical")
#: above this many rows the k-means start runs on a uniform sample of
#: KMEANS_SAMPLE_ROWS rows, then refines its centres by chunked Lloyd passes over every
#: row (scikit-learn's KMeans on all rows copies them and holds several row-sized
#: arrays: ~0.8 GB at 8.4 million rows of 2 columns). Up to this size the start is
#: scikit-learn's exactly.
KMEANS_SAMPLE_ABOVE = 1_000_000
KMEANS_SAMPLE_ROWS = 200_000
#: the full Lloyd passes that refine the sample's centres stop when the centres move
#: less than this fraction of the mean feature variance (scikit-learn's KMeans tol), or
#: after this many passes
KMEANS_TOL = 1e-4
KMEANS_MAX_FULL_PASSES = 100
#: scikit-learn's starts that assign only some rows (K of them); its tied covariance
#: there sums the outer products of every row anyway, and pcagmm's "tied" does the same
#: to stay equal to it. mclust's hierarchical start (and "EEE") sums only assigned rows.
SCIKIT_LEARN_PARTIAL_STARTS = ("k-means++", "random_from_data")


class SharedStarts:
    """Starting assignments drawn once and shared by fits that would draw them alike.

    Fits of the same rows with the same number of components and the same int seed
    draw the same start whatever their covariance type (k-means, k-means++, the random
    starts and the hierarchical start do not look at it). A model-selection sweep fits
    every covariance type for each K, so it draws each start once: the first fit to
    ask for the start of ``(init_params, K, initialisation number)`` draws it, the
    others wait for it and take it, with the random state it left (so their next
    initialisation draws what it would have drawn). Thread-safe.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, _SharedStart] = {}

    def assignment(self, key: tuple, random_state, draw):
        """``draw()``'s result for ``key``, drawn by the first caller; ``random_state``
        is left as ``draw`` left it."""
        with self._lock:
            entry = self._entries.setdefault(key, _SharedStart())
        with entry.lock:
            if entry.state is None:
                entry.value = draw()
                entry.state = random_state.get_state()
            else:
                random_state.set_state(entry.state)
            return entry.value


class _SharedStart:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = None
        self.state = None


_SHARED_STARTS: contextvars.ContextVar[SharedStarts | None] = contextvars.ContextVar(
    "pcagmm_shared_starts", default=None
)


@contextlib.contextmanager
def sharing_starts(starts: SharedStarts | None):
    """Let the fits started in this thread (context) take their starts from ``starts``
    (None: every fit draws its own). Only for fits of the same rows without weights."""
    token = _SHARED_STARTS.set(starts)
    try:
        yield
    finally:
        _SHARED_STARTS.reset(token)


def initial_sums(
    X,
    rows,
    *,
    init_params,
    n_components,
    kind,
    shift,
    random_state,
    chunk_rows,
    sample_weight=None,
    init_index=0,
) -> Sums:
    """The M-step sums of the starting responsibilities of ``init_params``.

    ``rows`` is the row engine's driver of ``X``. The k-means start needs the rows in
    one process up to :data:`KMEANS_SAMPLE_ABOVE` rows; the other starts at any size.
    Under :func:`sharing_starts` the ``init_index``-th start is drawn once per
    :class:`SharedStarts` (not at scale, where the start's sums depend on ``kind``),
    and the hierarchical start's tree is agglomerated once and cut at every K.
    """
    n = X.shape[0]
    if init_params == "kmeans" and n > KMEANS_SAMPLE_ABOVE:
        return kmeans_start_at_scale(
            X, rows, n_components, kind, sample_weight, random_state, shift, chunk_rows
        )
    X = rows.gather(X)  # scikit-learn's starts need every row in one process

    shared = _SHARED_STARTS.get()

    def draw():
        return _starting_assignment(X, init_params, n_components, sample_weight, random_state)

    if shared is None or sample_weight is not None:
        labels, dense = draw()
    elif init_params == "hierarchical":
        # mclust agglomerates once per data set and cuts the same tree at every K: the
        # tree (its subset drawn first, from the same seed whatever K is) is shared, and
        # each fit cuts it, so no K's labels are kept for the sweep's length
        tree = shared.assignment(
            ("hierarchical tree", init_index),
            random_state,
            lambda: hierarchical.hierarchical_tree(X, random_state),
        )
        labels, dense = tree.labels(n_components), None
    else:
        labels, dense = shared.assignment(
            (init_params, n_components, init_index), random_state, draw
        )
    d = X.shape[1]
    total = Sums.zeros(n_components, d, kind)
    partial_tied = init_params in SCIKIT_LEARN_PARTIAL_STARTS and kind == "tied"
    for start, chunk in iter_row_chunks(X, chunk_rows, shift):
        stop = start + len(chunk)
        if dense is not None:
            resp = dense[start:stop]
        else:
            resp = np.zeros((len(chunk), n_components))
            part = labels[start:stop]
            hit = part >= 0
            resp[np.flatnonzero(hit), part[hit]] = 1.0
        w = None if sample_weight is None else sample_weight[start:stop]
        sums = kernels.weighted_sums(chunk, resp, w, kind)
        if partial_tied:  # about the origin, as scikit-learn's X.T @ X
            sums.second = covariance_type(kind).second_moments_of_every_row(chunk + shift, w)
        total.add(sums)
    if partial_tied:
        # scikit-learn's (X^T X - sum_k n_k mu_k mu_k^T) / sum_k n_k over every row with
        # absolute means mu_k = m_k + c; the M-step subtracts sum_k n_k m_k m_k^T about
        # the shift c, so the second moments it reads are X^T X - c L^T - L c^T - N c c^T
        # (L the assigned rows' sums about c, N their mass). Not invariant to the shift:
        # the rows no start assigns count in X^T X alone.
        c, L, N = shift, total.linear.sum(axis=0), total.mass.sum()
        total.second = total.second - np.outer(c, L) - np.outer(L, c) - N * np.outer(c, c)
    return total


def _starting_assignment(X, init_params, K, sample_weight, random_state):
    """``(labels, dense)``: each row's starting component (-1: none), or dense
    responsibilities (``"random"``), drawn as scikit-learn draws them.

    ``"hierarchical"`` agglomerates a random subset of rows and ignores
    ``sample_weight`` (the subset's rows still enter the M-step sums weighted)."""
    n = X.shape[0]
    if init_params == "hierarchical":
        return hierarchical.hierarchical_labels(X, K, random_state), None
    if init_params == "kmeans":
        from sklearn.cluster import KMeans

        kmeans = KMeans(n_clusters=K, n_init=1, random_state=random_state)
        return kmeans.fit(X, sample_weight=sample_weight).labels_, None
    if init_params == "random":
        dense = random_state.uniform(size=(n, K))
        dense /= dense.sum(axis=1)[:, np.newaxis]
        return None, dense
    if init_params == "k-means++":
        from sklearn.cluster import kmeans_plusplus

        _, indices = kmeans_plusplus(X, K, random_state=random_state, sample_weight=sample_weight)
    else:  # random_from_data
        indices = random_state.choice(n, size=K, replace=False)
    labels = np.full(n, -1)
    labels[indices] = np.arange(K)
    return labels, None


def kmeans_start_at_scale(X, rows, K, kind, sample_weight, random_state, shift, chunk_rows) -> Sums:
    """k-means for many rows: on a uniform sample, then Lloyd passes over every row.

    scikit-learn's KMeans (k-means++ seeding, then Lloyd) runs on
    :data:`KMEANS_SAMPLE_ROWS` rows drawn from ``random_state``; its centres are then
    refined by full passes, each assigning every row to its nearest centre and
    moving the centres to their rows' means, until they move less than
    scikit-learn's tolerance (1e-4 of the mean variance of the sample's features,
    squared distance summed over centres) or after :data:`KMEANS_MAX_FULL_PASSES`.
    The starting responsibilities are the last pass's assignment, so the start needs
    no row-sized array, and a Dask array's passes run on its workers.
    """
    centres, variance = _kmeans_centres_on_a_sample(X, rows, K, sample_weight, random_state)
    centres = centres - shift
    tolerance = KMEANS_TOL * variance
    for _ in range(KMEANS_MAX_FULL_PASSES):
        sums = rows.reduce(nearest_centre_pass, X, shift, centres, None, sample_weight, chunk_rows)
        filled = sums.mass > 0  # an emptied centre stays where it was
        moved = centres.copy()
        moved[filled] = sums.linear[filled] / sums.mass[filled, np.newaxis]
        shift_squared = float(np.sum((moved - centres) ** 2))
        centres = moved
        if shift_squared <= tolerance:
            break
    return rows.reduce(nearest_centre_pass, X, shift, centres, kind, sample_weight, chunk_rows)


def _kmeans_centres_on_a_sample(X, rows, K, sample_weight, random_state):
    """k-means (scikit-learn's: k-means++ seeding, then Lloyd) on a uniform sample of rows,
    and the mean variance of the sample's features (the scale of k-means' tolerance).

    The sample is drawn from ``random_state``, so the start is reproducible; for a
    Dask array only the sampled rows come to the client.
    """
    from sklearn.cluster import KMeans

    n = X.shape[0]
    sample = np.sort(random_state.choice(n, size=KMEANS_SAMPLE_ROWS, replace=False))
    weights = None if sample_weight is None else sample_weight[sample]
    sampled = np.asarray(rows.take(X, sample), dtype=np.float64)
    kmeans = KMeans(n_clusters=K, n_init=1, random_state=random_state)
    centres = kmeans.fit(sampled, sample_weight=weights).cluster_centers_
    return centres, float(np.mean(np.var(sampled, axis=0)))


def nearest_centre_pass(X, shift, centres, kind, sample_weight, chunk_rows) -> Sums:
    """Sums of every row of the block ``X`` given to its nearest centre: counts and sums
    only (a Lloyd pass, ``kind=None``), or with the second moments of covariance type
    ``kind`` (the start's sums)."""
    total = Sums.zeros(len(centres), X.shape[1], kind or "spherical")
    for start, chunk in iter_row_chunks(X, chunk_rows, shift):
        w = None if sample_weight is None else sample_weight[start : start + len(chunk)]
        total.add(nearest_centre_sums(chunk, centres, kind, w))
    return total


def nearest_centre_sums(U, centres, kind, sample_weight=None) -> Sums:
    """M-step sums of rows ``U`` each given wholly to its nearest centre.

    ``U`` and ``centres`` are relative to the same shift point. With ``kind=None``
    only the counts and the sums of the rows are made (what a Lloyd step needs; the
    second moments are left as zeros of the spherical shape).
    """
    K, d = centres.shape
    # argmin |u - c|^2 = argmin |c|^2 - 2 u.c
    distances = U @ (-2.0 * centres.T)
    distances += np.einsum("kd,kd->k", centres, centres)
    nearest = distances.argmin(axis=1)
    if kind is not None:
        resp = np.zeros((len(U), K))
        resp[np.arange(len(U)), nearest] = 1.0
        return kernels.weighted_sums(U, resp, sample_weight, kind)
    w = sample_weight
    mass = np.bincount(nearest, weights=w, minlength=K).astype(np.float64)
    linear = np.empty((K, d))
    for j in range(d):
        column = U[:, j] if w is None else U[:, j] * w
        linear[:, j] = np.bincount(nearest, weights=column, minlength=K)
    weight = float(len(U) if w is None else w.sum())
    return Sums(mass, linear, np.zeros(K), 0.0, weight)

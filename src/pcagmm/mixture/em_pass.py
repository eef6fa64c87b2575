"""The hot loop of every fit: one EM pass over row chunks, returning the M-step sums.

Two ways to do the same pass:

* **quadratic features** (few features, and a covariance type that describes its
  second-order terms): each row ``u`` is expanded once into
  ``f(u) = [its second-order terms, u, 1]`` (P values). A Gaussian's log-density
  is linear in ``f(u)``, so the weighted log-densities of a chunk for all K
  components are one matrix product ``A @ F`` (K x P times P x rows), and the
  M-step sums of the chunk are another, ``resp @ F.T``. With the chunk laid out
  component-major, the log-sum-exp runs along contiguous rows. For data in memory
  the features are built on the first pass and reused by the next ones.
* **direct** (many features, or means far from the shift point where expanding
  the quadratic would cost precision): ``(u - mean_k) P_k`` per component, as
  scikit-learn computes it.

Both return the same :class:`~pcagmm.mixture.kernels.Sums`. An :class:`EMPass`
is the statistics function the row engine maps over blocks of rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..progress import rows_done
from ..rows.chunks import iter_row_chunks, read_chunk
from . import kernels
from .covariance import covariance_type
from .kernels import LOG_2PI, Model, Sums

#: expand into quadratic features up to this many features
FEATURES_MAX_D = 16
#: expand only while every mean is within this squared Mahalanobis distance of the shift
#: (the expanded form then loses at most ~1e-9 in a log-density)
FEATURES_MAX_CONDITION = 1e6
#: rows per chunk in the feature pass (a chunk's K x rows block stays in cache)
FEATURE_CHUNK_ROWS = 8192
#: keep the features of data in memory between passes up to this many bytes
FEATURE_CACHE_BYTES = 64 << 20
#: rows per chunk in the direct pass (on threads: the elementwise work parallelises
#: too; measured on 2 cores at d=50, K=10: 0.10 s a pass against 0.15 s with one
#: chunk at a time on two BLAS threads)
DIRECT_CHUNK_ROWS = 2048


class QuadraticFeatures:
    """The feature layout ``[second-order terms, u, 1]`` of one covariance type."""

    def __init__(self, kind: str, d: int):
        self.kind = covariance_type(kind)
        self.d = d
        self.n_quadratic = self.kind.n_quadratic_terms(d)
        self.size = self.n_quadratic + d + 1

    @classmethod
    def of(cls, kind: str, d: int) -> QuadraticFeatures | None:
        """The layout, or None where the pass goes direct (too many features, or a type
        without quadratic terms)."""
        if d > FEATURES_MAX_D or covariance_type(kind).n_quadratic_terms(d) is None:
            return None
        return cls(kind, d)

    def build(self, U: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Features of the rows of ``U`` (rows x d), laid out feature-major: (P, rows).

        Written into ``out`` (P x at least rows) when given, so a pass can reuse one
        buffer: fresh large arrays cost page faults, which dominate where the
        allocator returns freed memory at once (Dask's workers set a low
        ``MALLOC_TRIM_THRESHOLD_``: 70 ms a block of 524,288 rows against 18 ms).
        """
        q, d = self.n_quadratic, self.d
        F = np.empty((self.size, U.shape[0])) if out is None else out[:, : U.shape[0]]
        Ut = F[q : q + d]
        Ut[...] = U.T
        self.kind.fill_quadratic_terms(Ut, F[:q])
        F[-1] = 1.0
        return F

    def coefficients(self, model: Model) -> tuple[np.ndarray, float]:
        """``A`` (K x P) with ``A @ f(u)`` = log weight_k + log N(u | k), and the
        largest squared Mahalanobis distance of a mean from the shift point."""
        M = model.means
        K, d = M.shape
        LM, quadratic = self.kind.feature_coefficients(M, model.factor)
        distance = np.einsum("kd,kd->k", M, LM)
        A = np.empty((K, self.size))
        A[:, : self.n_quadratic] = -0.5 * quadratic
        A[:, self.n_quadratic : self.n_quadratic + d] = LM
        A[:, -1] = -0.5 * (distance + d * LOG_2PI) + model.log_det + model.log_weights
        return A, float(np.max(distance))

    def sums(self, stats: np.ndarray, log_likelihood: float, weight: float) -> Sums:
        """Unpack ``resp @ F.T`` (K x P) into the M-step :class:`Sums`."""
        q, d = self.n_quadratic, self.d
        second = self.kind.second_from_terms(stats[:, :q], d)
        return Sums(stats[:, -1].copy(), stats[:, q : q + d].copy(), second, log_likelihood, weight)


class EMPass:
    """The EM statistics of blocks of rows: ``pass_.sums(X, model)`` is one pass.

    Parameters
    ----------
    shift : ndarray
        The point rows are taken about (the model's means are relative to it).
    covariance_type : str
    n_components : int
    chunk_rows : int or None
        Rows per chunk (None: the defaults of each way).
    threads : int, default=1
        Threads for the direct pass's chunks (the row engine's driver says how many;
        run with BLAS on one thread: idle BLAS threads spinning beside the chunk
        threads cost more than BLAS threading gains on these small products).
    keep_features : bool, default=False
        Keep the quadratic features of the rows between passes (data in memory,
        up to :data:`FEATURE_CACHE_BYTES`).

    Use it as a context manager when ``threads > 1`` (it holds a thread pool).
    """

    def __init__(
        self, shift, covariance_type, n_components, chunk_rows, *, threads=1, keep_features=False
    ):
        self.shift = shift
        self.covariance_type = covariance_type
        self.n_components = n_components
        self.chunk_rows = chunk_rows
        self.threads = threads
        self.keep_features = keep_features
        self.layout = QuadraticFeatures.of(covariance_type, len(shift))
        self._cached: tuple[object, list[tuple[int, np.ndarray]]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> EMPass:
        if self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._cached = None

    def __getstate__(self):  # sent to Dask workers: without pool or features
        return {**self.__dict__, "_pool": None, "_cached": None}

    def sums(self, X, model: Model, sample_weight: np.ndarray | None = None) -> Sums:
        """One pass over the rows ``X``: the E-step under ``model`` and the M-step sums."""
        if self.layout is not None:
            A, distance = self.layout.coefficients(model)
            if distance <= FEATURES_MAX_CONDITION:
                return self._feature_pass(X, A, sample_weight)
        return self._direct_pass(X, model, sample_weight)

    def scores(self, X, model: Model) -> tuple[float, float]:
        """One E-step without sums: the log-likelihood of the rows ``X`` under ``model``,
        and the sum over the rows of the log-posterior of each row's most probable
        component (what ICL adds to BIC)."""
        if self.layout is not None:
            A, distance = self.layout.coefficients(model)
            if distance <= FEATURES_MAX_CONDITION:
                return self._feature_scores(X, A)
        return self._direct_scores(X, model)

    def _feature_scores(self, X, A: np.ndarray) -> tuple[float, float]:
        log_likelihood = log_assigned = 0.0
        for _, F in self._feature_chunks(X):
            logits = A @ F  # (K, rows)
            top, _, log_total = _exponentiate_about_the_top(logits)
            # the most probable component's term is exp(0) = 1: its posterior is 1 / total
            log_likelihood += float(log_total.sum() + top.sum())
            log_assigned -= float(log_total.sum())
        return log_likelihood, log_assigned

    def _direct_scores(self, X, model: Model) -> tuple[float, float]:
        from scipy.special import logsumexp

        log_likelihood = log_assigned = 0.0
        for _, chunk in iter_row_chunks(X, self.chunk_rows or DIRECT_CHUNK_ROWS, self.shift):
            weighted = kernels.log_gaussian(chunk, model) + model.log_weights
            row_log_likelihood = logsumexp(weighted, axis=1)
            log_likelihood += float(row_log_likelihood.sum())
            log_assigned += float((weighted.max(axis=1) - row_log_likelihood).sum())
        return log_likelihood, log_assigned

    def _feature_chunks(self, X):
        if self._cached is not None and self._cached[0] is X:
            for start, F in self._cached[1]:
                yield start, F
                rows_done(F.shape[1])
            return
        rows = self.chunk_rows or FEATURE_CHUNK_ROWS
        cacheable = (
            self.keep_features
            and isinstance(X, np.ndarray)
            and X.shape[0] * self.layout.size * 8 <= FEATURE_CACHE_BYTES
        )
        built = []
        buffer = None if cacheable else np.empty((self.layout.size, min(rows, len(X))))
        for start, chunk in iter_row_chunks(X, rows, self.shift):
            F = self.layout.build(chunk, buffer)
            if cacheable:
                built.append((start, F))
            yield start, F
        if cacheable:
            self._cached = (X, built)

    def _feature_pass(self, X, A: np.ndarray, weights) -> Sums:
        K = self.n_components
        stats = np.zeros((K, self.layout.size))
        log_likelihood = 0.0
        # working arrays reused from chunk to chunk (see QuadraticFeatures.build)
        most = min(self.chunk_rows or FEATURE_CHUNK_ROWS, len(X))
        logits_buffer = np.empty((K, most))
        top_buffer, total_buffer, log_norm_buffer = np.empty((3, most))
        for start, F in self._feature_chunks(X):
            rows = F.shape[1]
            if rows > most:  # cached features from chunks of another size
                most = rows
                logits_buffer = np.empty((K, most))
                top_buffer, total_buffer, log_norm_buffer = np.empty((3, most))
            logits = logits_buffer[:, :rows]
            np.matmul(A, F, out=logits)  # (K, rows): log weight_k + log N(u | k)
            top, total, log_norm = _exponentiate_about_the_top(
                logits, top_buffer[:rows], total_buffer[:rows], log_norm_buffer[:rows]
            )
            log_norm += top
            if weights is None:
                np.divide(logits, total, out=logits)
                log_likelihood += float(log_norm.sum())
            else:
                w = weights[start : start + rows]
                logits *= w / total
                log_likelihood += float(log_norm @ w)
            stats += logits @ F.T
        weight = float(X.shape[0] if weights is None else weights.sum())
        return self.layout.sums(stats, log_likelihood, weight)

    def _direct_pass(self, X, model: Model, weights) -> Sums:
        """Chunks on the pool's threads (one BLAS thread each), summed in chunk order."""
        K, d = model.means.shape
        n = X.shape[0]
        rows = self.chunk_rows or DIRECT_CHUNK_ROWS
        starts = range(0, n, rows)

        def one_chunk(start: int) -> Sums:
            stop = min(start + rows, n)
            chunk = read_chunk(X, start, stop, shift=self.shift)
            w = None if weights is None else weights[start:stop]
            sums = kernels.chunk_sums(chunk, model, w)[0]
            rows_done(stop - start)
            return sums

        total = Sums.zeros(K, d, self.covariance_type)
        if self._pool is None or len(starts) == 1:
            results = map(one_chunk, starts)
        else:
            results = self._pool.map(one_chunk, starts)
        for sums in results:  # added in chunk order, whatever thread made them: deterministic
            total.add(sums)
        return total


def _exponentiate_about_the_top(logits, top=None, total=None, log_total=None):
    """The log-sum-exp of each column of ``logits`` (K x rows), in place and in parts.

    ``logits`` becomes ``exp(logits - top)`` (``top``: each column's largest finite
    value, 0 where none is); returns ``(top, total, log_total)``, ``total`` the
    columns' sums, so that a column's log-sum-exp is ``log_total + top``. ``top``,
    ``total`` and ``log_total`` may be given as buffers of one value per column.
    """
    top = np.max(logits, axis=0, out=top)
    top[~np.isfinite(top)] = 0.0
    logits -= top
    np.exp(logits, out=logits)
    total = np.sum(logits, axis=0, out=total)
    return top, total, np.log(total, out=log_total)

"""The hot loop of every fit: one EM pass over row chunks, returning the M-step sums.

Two ways to do the same pass:

* **quadratic features** (few features): each row ``u`` is expanded once into
  ``f(u) = [its second-order terms, u, 1]`` (P values). A Gaussian's log-density
  is linear in ``f(u)``, so the weighted log-densities of a chunk for all K
  components are one matrix product ``A @ F`` (K x P times P x rows), and the
  M-step sums of the chunk are another, ``resp @ F.T``. With the chunk laid out
  component-major, the log-sum-exp runs along contiguous rows. For data in memory
  the features are built on the first pass and reused by the next ones.
* **direct** (many features, or means far from the shift point where expanding
  the quadratic would cost precision): ``(u - mean_k) P_k`` per component, as
  scikit-learn computes it.

Both return the same :class:`~pcagmm.mixture.kernels.Sums`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..progress import rows_done
from ..stats import iter_row_chunks, release_rows
from . import kernels
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
#: rows per chunk in the direct pass, and threads working on chunks at once (the
#: elementwise work parallelises too; measured on 2 cores at d=50, K=10: 0.10 s a
#: pass against 0.15 s with one chunk at a time on two BLAS threads)
DIRECT_CHUNK_ROWS = 2048
DIRECT_THREADS = min(2, os.cpu_count() or 1)


class QuadraticFeatures:
    """The feature layout ``[second-order terms, u, 1]`` of one covariance type."""

    def __init__(self, covariance_type: str, d: int):
        self.covariance_type = covariance_type
        self.d = d
        if covariance_type in ("full", "tied"):
            self.rows, self.cols = np.triu_indices(d)
            self.n_quadratic = len(self.rows)
        else:
            self.n_quadratic = d if covariance_type == "diag" else 1
        self.size = self.n_quadratic + d + 1

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
        if self.covariance_type in ("full", "tied"):
            for i, (row, col) in enumerate(zip(self.rows, self.cols, strict=True)):
                np.multiply(Ut[row], Ut[col], out=F[i])  # no temporaries: see above
        elif self.covariance_type == "diag":
            np.multiply(Ut, Ut, out=F[:q])
        else:
            np.einsum("dn,dn->n", Ut, Ut, out=F[0])
        F[-1] = 1.0
        return F

    def coefficients(self, model: Model) -> tuple[np.ndarray, float]:
        """``A`` (K x P) with ``A @ f(u)`` = log weight_k + log N(u | k), and the
        largest squared Mahalanobis distance of a mean from the shift point."""
        M, P = model.means, model.factor
        K, d = M.shape
        kind = self.covariance_type
        if kind == "full":
            precision = P @ np.transpose(P, (0, 2, 1))
            LM = np.einsum("kij,kj->ki", precision, M)
            quadratic = precision[:, self.rows, self.cols] * np.where(
                self.rows == self.cols, 1.0, 2.0
            )
        elif kind == "tied":
            precision = P @ P.T
            LM = M @ precision
            quadratic = np.broadcast_to(
                precision[self.rows, self.cols] * np.where(self.rows == self.cols, 1.0, 2.0),
                (K, self.n_quadratic),
            )
        elif kind == "diag":
            precision = P**2
            LM = precision * M
            quadratic = precision
        else:
            precision = P**2
            LM = precision[:, np.newaxis] * M
            quadratic = precision[:, np.newaxis]
        distance = np.einsum("kd,kd->k", M, LM)
        A = np.empty((K, self.size))
        A[:, : self.n_quadratic] = -0.5 * quadratic
        A[:, self.n_quadratic : self.n_quadratic + d] = LM
        A[:, -1] = -0.5 * (distance + d * LOG_2PI) + model.log_det + model.log_weights
        return A, float(np.max(distance))

    def sums(self, stats: np.ndarray, log_likelihood: float, weight: float) -> Sums:
        """Unpack ``resp @ F.T`` (K x P) into the M-step :class:`Sums`."""
        q, d = self.n_quadratic, self.d
        quadratic = stats[:, :q]
        kind = self.covariance_type
        if kind in ("full", "tied"):
            upper = quadratic if kind == "full" else quadratic.sum(axis=0, keepdims=True)
            second = np.empty((len(upper), d, d))
            second[:, self.rows, self.cols] = upper
            second[:, self.cols, self.rows] = upper
            if kind == "tied":
                second = second[0]
        elif kind == "diag":
            second = quadratic.copy()
        else:
            second = quadratic[:, 0].copy()
        return Sums(stats[:, -1].copy(), stats[:, q : q + d].copy(), second, log_likelihood, weight)


class EMPass:
    """Runs EM passes over one data set; keeps its quadratic features between passes.

    Use it as a context manager: inside, the direct pass works on chunks in
    :data:`DIRECT_THREADS` threads. Run it with BLAS limited to one thread
    (``threadpoolctl.threadpool_limits(1)``): idle BLAS threads spinning beside the
    chunk threads cost more than BLAS threading gains on these small products.
    """

    def __init__(
        self, X, shift, covariance_type, n_components, chunk_rows, sample_weight=None,
        keep_features=True,
    ):  # fmt: skip
        self.X = X
        self.shift = shift
        self.covariance_type = covariance_type
        self.n_components = n_components
        self.chunk_rows = chunk_rows
        self.sample_weight = sample_weight
        n, d = X.shape
        self.layout = QuadraticFeatures(covariance_type, d) if d <= FEATURES_MAX_D else None
        self._cached: list[tuple[int, np.ndarray]] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._cacheable = (
            keep_features  # False for a single pass: the features go to a reused buffer
            and self.layout is not None
            and isinstance(X, np.ndarray)
            and not isinstance(X, np.memmap)
            and n * self.layout.size * 8 <= FEATURE_CACHE_BYTES
        )

    def __enter__(self) -> EMPass:
        if DIRECT_THREADS > 1:
            self._pool = ThreadPoolExecutor(DIRECT_THREADS)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __call__(self, model: Model) -> Sums:
        """One pass: the E-step under ``model`` and the sums for the next M-step."""
        if self.layout is not None:
            A, distance = self.layout.coefficients(model)
            if distance <= FEATURES_MAX_CONDITION:
                return self._feature_pass(A)
        return self._direct_pass(model)

    def _feature_chunks(self):
        if self._cached is not None:
            for start, F in self._cached:
                yield start, F
                rows_done(F.shape[1])
            return
        rows = self.chunk_rows or FEATURE_CHUNK_ROWS
        built = []
        buffer = None if self._cacheable else np.empty((self.layout.size, min(rows, len(self.X))))
        for start, chunk in iter_row_chunks(self.X, rows, self.shift):
            F = self.layout.build(chunk, buffer)
            if self._cacheable:
                built.append((start, F))
            yield start, F
        if self._cacheable:
            self._cached = built

    def _feature_pass(self, A: np.ndarray) -> Sums:
        K = self.n_components
        stats = np.zeros((K, self.layout.size))
        log_likelihood = 0.0
        weights = self.sample_weight
        # working arrays reused from chunk to chunk (see QuadraticFeatures.build)
        most = min(self.chunk_rows or FEATURE_CHUNK_ROWS, len(self.X))
        logits_buffer = np.empty((K, most))
        top_buffer, total_buffer, log_norm_buffer = np.empty((3, most))
        for start, F in self._feature_chunks():
            rows = F.shape[1]
            if rows > most:  # cached features from chunks of another size
                most = rows
                logits_buffer = np.empty((K, most))
                top_buffer, total_buffer, log_norm_buffer = np.empty((3, most))
            logits = logits_buffer[:, :rows]
            np.matmul(A, F, out=logits)  # (K, rows): log weight_k + log N(u | k)
            top = np.max(logits, axis=0, out=top_buffer[:rows])
            top[~np.isfinite(top)] = 0.0
            logits -= top
            np.exp(logits, out=logits)
            total = np.sum(logits, axis=0, out=total_buffer[:rows])
            log_norm = np.log(total, out=log_norm_buffer[:rows])
            log_norm += top
            if weights is None:
                np.divide(logits, total, out=logits)
                log_likelihood += float(log_norm.sum())
            else:
                w = weights[start : start + rows]
                logits *= w / total
                log_likelihood += float(log_norm @ w)
            stats += logits @ F.T
        weight = float(self.X.shape[0] if weights is None else weights.sum())
        return self.layout.sums(stats, log_likelihood, weight)

    def _direct_pass(self, model: Model) -> Sums:
        """Chunks on two threads (one BLAS thread each), summed in chunk order."""
        K, d = model.means.shape
        n = self.X.shape[0]
        rows = self.chunk_rows or DIRECT_CHUNK_ROWS
        starts = range(0, n, rows)

        def one_chunk(start: int) -> Sums:
            chunk = np.asarray(self.X[start : start + rows], dtype=np.float64) - self.shift
            release_rows(self.X, start, start + len(chunk))
            w = None
            if self.sample_weight is not None:
                w = self.sample_weight[start : start + len(chunk)]
            sums = kernels.chunk_sums(chunk, model, w)[0]
            rows_done(len(chunk))
            return sums

        total = Sums.zeros(K, d, self.covariance_type)
        if self._pool is None or len(starts) == 1:
            results = map(one_chunk, starts)
        else:
            results = self._pool.map(one_chunk, starts)
        for sums in results:  # added in chunk order, whatever thread made them: deterministic
            total.add(sums)
        return total

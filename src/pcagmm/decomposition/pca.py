"""Exact PCA as one pass of chunk statistics and an eigendecomposition."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..rows import validate_rows
from ..rows.chunks import check_chunk_rows, first_rows_mean, iter_row_chunks, parallel_map
from .scatter import scatter_sums


def top_eigenpairs(covariance: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending, clipped at 0) and their eigenvectors as rows.

    Signs follow scikit-learn's rule (``svd_flip`` with ``u_based_decision=False``):
    in each eigenvector the entry of largest magnitude (the first, on ties) is positive.
    """
    d = covariance.shape[0]
    values, vectors = scipy.linalg.eigh(covariance, subset_by_index=[d - k, d - 1])
    values = np.clip(values[::-1], 0.0, None)
    components = np.ascontiguousarray(vectors[:, ::-1].T)
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(k), largest])
    components *= signs[:, np.newaxis]
    return values, components


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis, exact, from one pass over the data in chunks.

    The fit accumulates the count, the column sums and the scatter matrix of the
    rows (float64, about a shift point; exact for uint8 data), then takes the top
    eigenvectors of the covariance. A memory-mapped or uint8 ``X`` is read a chunk
    at a time and never copied whole into floats: the extra memory is one chunk
    plus two ``n_features x n_features`` matrices.

    The result equals scikit-learn's ``PCA(svd_solver="covariance_eigh")`` on the
    same data, signs included.

    Parameters
    ----------
    n_components : int, optional
        Number of components to keep; all (``min(n_samples, n_features)``) if None.
    whiten : bool, default=False
        Scale the projections to unit variance.
    chunk_rows : int, optional
        Rows per chunk; by default chunks of about 32 MiB.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The principal axes (unit eigenvectors of the covariance), as rows.
    explained_variance_ : ndarray of shape (n_components,)
        The variance along each axis (the eigenvalues, ddof=1).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Each axis's share of the total variance.
    singular_values_ : ndarray of shape (n_components,)
        The singular values of the centred rows.
    mean_ : ndarray of shape (n_features,)
        The mean of the rows.
    n_components_ : int
        The number of components kept.
    n_samples_ : int
        The number of rows fitted.
    noise_variance_ : float
        Mean of the variances left out (probabilistic PCA's noise estimate).
    n_features_in_ : int
        The number of features seen in ``fit``.
    """

    def __init__(self, n_components=None, *, whiten=False, chunk_rows=None):
        self.n_components = n_components
        self.whiten = whiten
        self.chunk_rows = chunk_rows

    def fit(self, X, y=None):
        """Fit the model to ``X``: one pass of chunk sums, then an eigendecomposition.

        ``X`` may be a Dask array: each block's sums are computed on the workers and
        added there (only the sums travel); the result is the same.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows (uint8 rows are read as they are, without a float copy).
        y : None
            Ignored (scikit-learn's API).

        Returns
        -------
        PCA
            The fitted estimator itself.
        """
        X, rows = self._validate(X, reset=True)
        n, d = X.shape
        k = self._check_n_components(n, d)
        chunk_rows = check_chunk_rows(self.chunk_rows)
        shift = None if X.dtype == np.uint8 else first_rows_mean(X)
        sums = rows.reduce(_scatter_sums, X, shift, chunk_rows, rows.threads)
        covariance = sums.covariance(ddof=1)
        values, components = top_eigenpairs(covariance, k)
        total_variance = float(np.trace(covariance))
        self.mean_ = sums.mean
        self.components_ = components
        self.explained_variance_ = values
        self.explained_variance_ratio_ = values / total_variance if total_variance > 0 else values
        self.singular_values_ = np.sqrt(values * (n - 1))
        self.noise_variance_ = (total_variance - values.sum()) / (d - k) if k < min(n, d) else 0.0
        self.n_components_ = k
        self.n_samples_ = n
        return self

    def transform(self, X):
        """Project ``X`` on the components: ``(X - mean_) @ components_.T``, in chunks.

        A Dask array gives a Dask array (each block projected where it lives).

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows (uint8 rows are read as they are, without a float copy).

        Returns
        -------
        ndarray or Dask array of shape (n_samples, n_components)
            The projection (whitened with ``whiten=True``).
        """
        check_is_fitted(self)
        X, rows = self._validate(X, reset=False)
        return rows.map(_project, X, self.n_components_, np.float64, self, rows.threads)

    def _project(self, X, threads: int) -> np.ndarray:
        n, d = X.shape
        projection = self.components_.T
        if self.whiten:
            projection = projection / np.sqrt(self.explained_variance_)
        offset = self.mean_ @ projection
        out = np.empty((n, self.n_components_))
        # Small chunks (the widened rows stay in cache for the narrow product), shared
        # between threads; each chunk writes its own rows of the output.
        chunk_rows = check_chunk_rows(self.chunk_rows) or max(64, min(1 << 16, (1 << 18) // d))
        workers = min(threads, len(range(0, n, chunk_rows)))

        def project(first: int) -> None:
            for start, chunk in iter_row_chunks(X, chunk_rows, first=first, step=workers):
                np.matmul(chunk, projection, out=out[start : start + len(chunk)])

        parallel_map(project, range(workers), workers)
        out -= offset
        return out

    def fit_transform(self, X, y=None):
        """Fit, then project ``X``.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows (uint8 rows are read as they are, without a float copy).
        y : None
            Ignored (scikit-learn's API).

        Returns
        -------
        ndarray or Dask array of shape (n_samples, n_components)
            The projection, as ``fit(X).transform(X)`` gives it.
        """
        return self.fit(X).transform(X)

    def leading(self, n_components: int) -> PCA:
        """Return a fitted copy that keeps only the first ``n_components`` components.

        It is what a fit with ``n_components`` gives on the same data (the
        eigenvectors do not depend on how many are kept), so one fit to the largest
        number of components serves every smaller one, and the projection of the
        copy is the first ``n_components`` columns of this one's projection.

        Parameters
        ----------
        n_components : int
            How many components to keep, from 1 to ``n_components_``.

        Returns
        -------
        PCA
            The fitted copy (this one is left as it is).
        """
        check_is_fitted(self)
        k = int(n_components)
        if not 1 <= k <= self.n_components_:
            raise ValueError(
                f"n_components={k} must be between 1 and the {self.n_components_} "
                "components fitted; fit with more components"
            )
        copy = PCA(k, whiten=self.whiten, chunk_rows=self.chunk_rows)
        copy.mean_ = self.mean_
        copy.components_ = self.components_[:k]
        copy.explained_variance_ = self.explained_variance_[:k]
        copy.explained_variance_ratio_ = self.explained_variance_ratio_[:k]
        copy.singular_values_ = self.singular_values_[:k]
        d = self.n_features_in_
        n = self.n_samples_
        total = self.noise_variance_ * (d - self.n_components_) + self.explained_variance_.sum()
        left = total - copy.explained_variance_.sum()
        copy.noise_variance_ = left / (d - k) if k < min(n, d) else 0.0
        copy.n_components_ = k
        copy.n_samples_ = n
        copy.n_features_in_ = d
        if hasattr(self, "feature_names_in_"):
            copy.feature_names_in_ = self.feature_names_in_
        return copy

    def inverse_transform(self, X):
        """Map projections back to the original space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Projected rows.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The rows in the original space: ``X @ components_ + mean_`` (unwhitened).
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects {self.n_components_} columns, got shape {X.shape}"
            )
        components = self.components_
        if self.whiten:
            components = components * np.sqrt(self.explained_variance_)[:, np.newaxis]
        return X @ components + self.mean_

    @property
    def _n_features_out(self):
        return self.n_components_

    def _validate(self, X, reset: bool):
        """``(X, driver)``: numeric arrays and memory maps are read in chunks as they
        are (no copy, no float conversion); anything else becomes float64."""
        numeric = isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "uif"
        return validate_rows(
            self,
            X,
            reset=reset,
            dtype=None if numeric else np.float64,
            ensure_min_samples=2 if reset else 1,
        )

    def _check_n_components(self, n: int, d: int) -> int:
        k = self.n_components
        if k is None:
            return min(n, d)
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise TypeError(f"n_components must be an integer or None, got {k!r}")
        if not 1 <= k <= min(n, d):
            raise ValueError(
                f"n_components={k} must be between 1 and min(n_samples, n_features)="
                f"{min(n, d)}; choose fewer components"
            )
        return int(k)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _scatter_sums(block: np.ndarray, shift, chunk_rows, threads: int):
    """The scatter sums of a block of rows (the whole array, or a Dask block)."""
    return scatter_sums(block, chunk_rows, shift=shift, threads=threads)


def _project(block: np.ndarray, pca: PCA, threads: int) -> np.ndarray:
    """The projection of a block of rows."""
    return pca._project(block, threads)

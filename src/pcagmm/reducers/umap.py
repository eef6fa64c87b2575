"""A UMAP embedding as a projection stage: PCA first, umap-learn on the result (or on
a uniform sample of it), every other row placed by its nearest neighbours.

umap-learn is an optional dependency (``pip install 'pcagmm[umap]'``), imported
when a UMAP is fitted. What a fitted :class:`UMAP` keeps is plain arrays (the PCA,
the reference rows it was fitted on in PCA coordinates, and their embedding), so
a model file holds it without pickle and :meth:`UMAP.transform` needs only NumPy
(and pynndescent for large inputs).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import ParameterError, literal
from ..rows.chunks import check_mapped_file, release_rows
from . import check_umap_settings, placement

INSTALL_HINT = "install it with: pip install 'pcagmm[umap]'"
#: rows above which UMAP is fitted on a uniform sample of this many, the rest placed
SAMPLE_ROWS = 100_000
#: rows placed per chunk (memory flat in the number of rows)
PLACE_ROWS = 16_384


class UMAPMissing(ParameterError):
    """umap-learn is not installed, and a UMAP embedding was asked for."""


def import_umap():
    """The ``umap`` module, or a one-line :class:`UMAPMissing` saying how to install it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's and umap-learn's import notices
            import umap
    except ImportError:
        raise UMAPMissing(
            "umap-learn is not installed, and {reducer=umap} needs it", literal(INSTALL_HINT)
        ) from None
    return umap


class UMAP(TransformerMixin, BaseEstimator):
    """UMAP (McInnes, Healy & Melville 2018) after PCA, with new rows placed by neighbours.

    ``fit`` projects the rows with pcagmm's exact :class:`~pcagmm.PCA` to
    ``pca_components`` (streamed, on Dask too), runs ``umap.UMAP`` on the projection
    of all rows, or of a uniform sample of ``sample_rows`` when there are more, and
    keeps those rows (the *reference*) with their embedding. ``transform`` places any
    row at the weighted average of its nearest reference rows' embedded positions
    (:mod:`pcagmm.reducers.placement`, where umap-learn's own ``transform`` starts
    before it optimises further). ``fit_transform`` gives the reference rows their
    UMAP embedding and places the others, in chunks (on the workers, for a Dask array).

    Parameters
    ----------
    n_components : int, default=2
        Dimensions of the embedding.
    n_neighbors : int, default=30
        UMAP's neighbourhood size. 30 and ``min_dist=0`` are the settings umap-learn's
        documentation recommends for clustering ("Using UMAP for Clustering"): larger
        neighbourhoods keep more global structure, and a zero minimum distance packs
        clusters tightly.
    min_dist : float, default=0.0
        UMAP's smallest distance between embedded points.
    pca_components : int or None, default=50
        PCA dimensions before UMAP (None: UMAP on the rows themselves).
    sample_rows : int, default=100_000
        Above this many rows, UMAP is fitted on a uniform sample of this many.
    random_state : int or None
        Seeds the sample and UMAP. With a seed umap-learn runs on one thread and is
        reproducible; without one it uses every core and is not.

    Attributes
    ----------
    pca_ : PCA or None
    reference_ : ndarray of shape (n_reference, pca_components), float32
        The rows UMAP was fitted on, in PCA coordinates.
    embedding_ : ndarray of shape (n_reference, n_components)
        Their embedding.
    fitted_rows_ : ndarray or None
        Which rows of the fitted data the reference rows are (None: all of them).
    umap_ : umap.UMAP
        umap-learn's fitted object (kept in memory only: not pickled, not in model files).
    n_components_, n_features_in_, n_samples_ : int
    explained_variance_ratio_ : None
        An embedding has no share of the variance (PCA's attribute, None here).
    """

    name = "UMAP"
    explained_variance_ratio_ = None

    def __init__(
        self,
        n_components=2,
        *,
        n_neighbors=30,
        min_dist=0.0,
        pca_components=50,
        sample_rows=SAMPLE_ROWS,
        random_state=None,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.pca_components = pca_components
        self.sample_rows = sample_rows
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit PCA and UMAP to ``X`` (a NumPy array, memory map or Dask array)."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then the embedding of every row of ``X`` (float64; a Dask array for a
        Dask ``X``): the reference rows' UMAP embedding, the other rows placed."""
        self._fit(X)
        return self.transform_fitted(X)

    def transform_fitted(self, X):
        """The embedding of the rows this UMAP was fitted on, as :meth:`fit_transform`
        gave it: the reference rows' own embedding, the other rows placed."""
        check_is_fitted(self, "embedding_")
        if X.shape[0] != self.n_samples_:
            raise ValueError(
                f"X has {X.shape[0]} rows, but this UMAP was fitted on {self.n_samples_}"
            )
        if self.fitted_rows_ is None:
            return self.embedding_.astype(np.float64)
        Z = self.transform(X)
        Z[self.fitted_rows_] = self.embedding_
        return Z

    def transform(self, X):
        """Place each row of ``X`` by its nearest reference rows (see the class)."""
        check_is_fitted(self, "embedding_")
        from ..rows import validate_rows

        X, rows = validate_rows(self, X, reset=False, dtype=None, ensure_min_samples=1)
        return rows.map(_place_rows, X, self.n_components_, np.float64, self)

    def _fit(self, X) -> None:
        umap = import_umap()
        from ..decomposition import PCA
        from ..rows import validate_rows

        self._check_parameters()
        X, rows = validate_rows(self, X, reset=True, dtype=None, ensure_min_samples=2)
        n, d = X.shape
        if self.n_neighbors >= n:
            raise ParameterError(
                f"{{umap_neighbors={self.n_neighbors}}} needs more than {n} rows",
                f"choose at most {n - 1}",
            )
        generator = np.random.default_rng(self.random_state)
        fitted_rows = None
        if n > self.sample_rows:
            fitted_rows = np.sort(generator.choice(n, self.sample_rows, replace=False))
        self.pca_ = None
        if self.pca_components is not None and self.pca_components < min(n, d):
            self.pca_ = PCA(self.pca_components).fit(X)
        sample = rows.gather(X) if fitted_rows is None else rows.take(X, fitted_rows)
        reference = self._reduce(np.asarray(sample))
        del sample
        if isinstance(X, np.ndarray):  # the sample's pages of a memory map, all over the file
            release_rows(X, 0, n)
        seed = None if self.random_state is None else int(self.random_state)
        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "n_jobs overridden by a seed"
            embedding = model.fit_transform(reference)
        self.reference_ = reference
        self.embedding_ = np.asarray(embedding, dtype=np.float64)
        self.fitted_rows_ = fitted_rows
        self.n_components_ = int(self.n_components)
        self.n_samples_ = n
        self.umap_ = model
        # umap-learn's own neighbour index of the reference rows, for placing many rows
        self._index = getattr(model, "_knn_search_index", None)

    def _check_parameters(self) -> None:
        for name, low in (("n_components", 1), ("sample_rows", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(
                    f"{{{_PARAMETER_NAMES[name]}}} must be a whole number >= {low}, "
                    f"got {literal(repr(value))}",
                    f"give e.g. {{{_PARAMETER_NAMES[name]}={_EXAMPLES[name]}}}",
                )
        check_umap_settings(self.n_neighbors, self.min_dist)

    def _reduce(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the coordinates UMAP sees (float32, as umap-learn takes them)."""
        if self.pca_ is None:
            return np.asarray(rows, dtype=np.float32)
        return self.pca_.transform(rows).astype(np.float32)

    def neighbour_index(self):
        """A pynndescent index of the reference rows (umap-learn's, or built once)."""
        index = getattr(self, "_index", None)
        if index is None:
            if importlib.util.find_spec("pynndescent") is None:
                raise UMAPMissing(
                    f"placing more than {placement.EXACT_PAIRS:,} row pairs needs "
                    "pynndescent, which umap-learn installs",
                    literal(INSTALL_HINT),
                )
            index = placement.build_index(self.reference_, self.n_neighbors, self.random_state)
            self._index = index
        return index

    def place(self, rows: np.ndarray) -> np.ndarray:
        """The placement of a block of rows (float64), :data:`PLACE_ROWS` at a time."""
        out = np.empty((rows.shape[0], self.n_components_))
        k = self.n_neighbors
        pairs = rows.shape[0] * self.reference_.shape[0]
        index = self.neighbour_index() if pairs > placement.EXACT_PAIRS else None
        for start in range(0, rows.shape[0], PLACE_ROWS):
            stop = min(start + PLACE_ROWS, rows.shape[0])
            check_mapped_file(rows)  # a file cut by another program would end in SIGBUS
            chunk = self._reduce(np.asarray(rows[start:stop]))
            release_rows(rows, start, stop)  # memory flat in the rows of a memory map
            indices, distances = placement.nearest(self.reference_, chunk, k, index)
            weights = placement.membership_weights(distances, k)
            out[start : start + len(chunk)] = placement.place(indices, weights, self.embedding_)
        return out

    def __getstate__(self):
        state = dict(self.__dict__)
        # sent to Dask workers without umap-learn's objects (the index is rebuilt there
        # if a block needs one)
        state.pop("_index", None)
        state.pop("umap_", None)
        return state

    @property
    def _n_features_out(self):
        return self.n_components_


_PARAMETER_NAMES = {"n_components": "components", "sample_rows": "umap_sample_rows"}
_EXAMPLES = {"n_components": 2, "sample_rows": 100000}


def _place_rows(block: np.ndarray, reducer: UMAP) -> np.ndarray:
    """The placement of a block of rows (the whole array, or a Dask block)."""
    return reducer.place(block)

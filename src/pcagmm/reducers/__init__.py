"""The projection stage's methods: PCA (exact, linear) or UMAP (optional, non-linear).

:data:`REDUCERS` names them (``--reducer``); :func:`make` builds an unfitted one.
Everything after the projection (the mixture, the figures, the tables, the report,
the model file) asks a fitted reducer only what this module's functions ask. A
reducer is an estimator with ``fit``, ``transform``, ``fit_transform``,
``n_components_``, a ``name`` (PCA's is "PCA"), and ``explained_variance_ratio_``
(None for an embedding, whose axes hold no share of the variance).
"""

from __future__ import annotations

import importlib.util

import numpy as np

#: the reducers of ``--reducer``; the first is the default
REDUCERS = ("pca", "umap")


def make(name: str, components: int, *, seed=None, umap_neighbors=30, umap_min_dist=0.0):
    """An unfitted reducer ``name`` to ``components`` dimensions."""
    if name == "pca":
        from ..decomposition import PCA

        return PCA(components)
    if name == "umap":
        from . import umap

        return umap.UMAP(
            components,
            n_neighbors=umap_neighbors,
            min_dist=umap_min_dist,
            sample_rows=umap.SAMPLE_ROWS,
            random_state=seed,
        )
    raise ValueError(f"unknown reducer {name!r}; choose one of {', '.join(REDUCERS)}")


def require(name: str) -> None:
    """Refuse a reducer whose optional dependency is missing (one line, with the fix),
    without importing it."""
    if name == "umap" and importlib.util.find_spec("umap") is None:
        from .umap import import_umap

        import_umap()  # raises UMAPMissing


def check_umap_settings(n_neighbors, min_dist) -> None:
    """Refuse UMAP settings it cannot use (one :class:`ParameterError` naming the
    parameter): a run's options, checked before any data are read, and the estimator's."""
    from ..errors import ParameterError, literal

    value = n_neighbors
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2:
        raise ParameterError(
            f"{{umap_neighbors}} must be a whole number >= 2, got {literal(repr(value))}",
            "give e.g. {umap_neighbors=30}",
        )
    value = min_dist
    if isinstance(value, bool) or not (isinstance(value, int | float) and value >= 0):
        raise ParameterError(
            f"{{umap_min_dist}} must be a number >= 0, got {literal(repr(value))}",
            "give e.g. {umap_min_dist=0.0}",
        )


def name_of(reducer) -> str:
    """``"PCA"`` or ``"UMAP"``: what the figures and tables call the projection."""
    return getattr(reducer, "name", "PCA")


def is_embedding(reducer) -> bool:
    """True for a non-linear embedding (UMAP): no inverse, no share of the variance."""
    return name_of(reducer) != "PCA"


def pca_of(reducer):
    """The fitted PCA of a projection: the reducer itself, or the PCA a UMAP ran on
    (None when it ran on the rows themselves)."""
    return getattr(reducer, "pca_", reducer)


def recorded_name(config: dict) -> str:
    """``PCA`` or ``UMAP``: the reducer a recorded run config names (runs recorded
    before the reducer was an option are PCA's)."""
    return config.get("reducer", REDUCERS[0]).upper()


def axis_prefix(reducer) -> str:
    """What the tables and files call the axes: ``PC`` (``PC1``) or ``UMAP`` (``UMAP1``)."""
    return name_of(reducer) if is_embedding(reducer) else "PC"


def axis_names(reducer) -> list[str]:
    """Each axis' name: ``PC1 (9.70%)`` for PCA (with its share of the variance),
    ``UMAP 1`` for an embedding (its axes hold no share of the variance)."""
    if is_embedding(reducer):
        return [f"{name_of(reducer)} {j + 1}" for j in range(reducer.n_components_)]
    ratios = reducer.explained_variance_ratio_
    return [f"PC{j + 1} ({r:.2%})" for j, r in enumerate(ratios)]


def describe_embedding(reducer) -> str:
    """One line on a fitted UMAP, for the terminal report (PCA has its own line)."""
    rows = len(reducer.embedding_)
    sample = (
        f"fitted on a uniform sample of {rows:,} of {reducer.n_samples_:,} rows, the rest "
        "placed by their neighbours"
        if reducer.fitted_rows_ is not None
        else f"fitted on all {rows:,} rows"
    )
    before = (
        f"after PCA to {reducer.pca_.n_components_} "
        f"({reducer.pca_.explained_variance_ratio_.sum():.1%} of the variance), "
        if reducer.pca_ is not None
        else ""
    )
    return (
        f"UMAP      {reducer.n_components_} dimensions, {reducer.n_neighbors} neighbours, "
        f"min_dist {reducer.min_dist:g}, {before}{sample}"
    )


def cluster_images(reducer, gmm, X, clusters):
    """Each cluster's picture in the data's space (K, features): PCA maps the mixture's
    means back (``inverse_transform``); an embedding has no inverse, so each cluster's
    picture is the average of its rows (in chunks; zeros for an empty cluster)."""
    if not is_embedding(reducer):
        return reducer.inverse_transform(gmm.means_)
    from ..rows.chunks import iter_stored_rows

    K = gmm.weights_.shape[0]
    clusters = np.asarray(clusters)
    sums = np.zeros((K, X.shape[1]))
    for start, block in iter_stored_rows(X):
        members = clusters[start : start + len(block)]
        one_hot = members[np.newaxis, :] == np.arange(K)[:, np.newaxis]
        sums += one_hot.astype(np.float64) @ np.asarray(block, dtype=np.float64)
    counts = np.bincount(clusters, minlength=K)[:K]
    return sums / np.maximum(counts, 1)[:, np.newaxis]

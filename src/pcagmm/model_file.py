"""Fitted models on disk: an .npz of plain arrays (no pickle), with a format version.

Layout (format 1): ``format_version``, ``n_features``, ``image_shape`` (0 x 0 when
the rows are not images), ``pixel_max`` (the largest grey level of the fitted images:
255 for MNIST, 16 for digits; 0 when not images), ``pca_mean``, ``pca_components``,
``pca_explained_variance``, ``pca_whiten``, ``gmm_covariance_type`` (a unicode
array), ``gmm_weights``, ``gmm_means``, ``gmm_covariances``,
``gmm_precisions_cholesky``, ``cluster_to_label`` (K labels, -1 where a cluster has
no matched label). The two covariance arrays have the shape the covariance type
gives (:meth:`pcagmm.mixture.covariance.CovarianceType.shape`), so a registered type
is saved and loaded like the built-in ones.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import atomic_file
from .errors import PcagmmError

FORMAT_VERSION = 1


class ModelFileError(PcagmmError, ValueError):
    """A model file that cannot be used."""


@dataclass
class SavedModel:
    """A fitted PCA and mixture, as loaded from a model file."""

    pca: object
    gmm: object
    image_shape: tuple[int, int] | None
    cluster_to_label: np.ndarray
    pixel_max: float = 255.0

    @property
    def n_features(self) -> int:
        return self.pca.mean_.shape[0]


def save_model(
    path: str | os.PathLike, pca, gmm, image_shape=None, cluster_to_label=None, pixel_max=0.0
) -> None:
    """Write a model file (to a temporary file beside it, then renamed)."""
    path = Path(path)
    K = gmm.weights_.shape[0]
    matching = np.full(K, -1, dtype=np.int64)
    for cluster, label in (cluster_to_label or {}).items():
        matching[int(cluster)] = int(label)
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "n_features": np.array(pca.mean_.shape[0]),
        "image_shape": np.array(image_shape if image_shape else (0, 0)),
        "pixel_max": np.array(float(pixel_max)),
        "pca_mean": pca.mean_,
        "pca_components": pca.components_,
        "pca_explained_variance": pca.explained_variance_,
        "pca_whiten": np.array(bool(pca.whiten)),
        "gmm_covariance_type": np.array(gmm.covariance_type),
        "gmm_weights": gmm.weights_,
        "gmm_means": gmm.means_,
        "gmm_covariances": gmm.covariances_,
        "gmm_precisions_cholesky": gmm.precisions_cholesky_,
        "cluster_to_label": matching,
    }
    with atomic_file(path) as file:
        np.savez(file, **arrays)


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read and validate a model file; every problem is a one-line :class:`ModelFileError`."""
    from .decomposition import PCA
    from .mixture import GaussianMixture
    from .mixture.covariance import covariance_type as covariance_kind

    path = Path(path)
    fix = "give a model.npz written by pcagmm run"
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist", fix)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable model file ({exc})", fix) from None
    version = arrays.get("format_version")
    if version is None:
        raise ModelFileError(f"{path} has no format version: it is not a pcagmm model", fix)
    if int(version) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} is model format {int(version)}, newer than this pcagmm reads "
            f"({FORMAT_VERSION})",
            "upgrade pcagmm",
        )
    missing = [key for key in _KEYS if key not in arrays]
    if missing:
        raise ModelFileError(f"{path} lacks {', '.join(missing)}", fix)
    try:
        d = int(arrays["n_features"])
        mean, components = arrays["pca_mean"], arrays["pca_components"]
        variance = arrays["pca_explained_variance"]
        covariance_type = str(arrays["gmm_covariance_type"])
        kind = covariance_kind(covariance_type)
        weights, means = arrays["gmm_weights"], arrays["gmm_means"]
        covariances, factor = arrays["gmm_covariances"], arrays["gmm_precisions_cholesky"]
        k = components.shape[0]
        K = weights.shape[0]
        expected = {
            "pca_mean": (d,),
            "pca_components": (k, d),
            "pca_explained_variance": (k,),
            "gmm_weights": (K,),
            "gmm_means": (K, k),
            "gmm_covariances": kind.shape(K, k),
            "gmm_precisions_cholesky": kind.shape(K, k),
            "cluster_to_label": (K,),
        }
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ModelFileError(f"{path} has inconsistent contents ({exc})", fix) from None
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ModelFileError(
                f"{path}: {key} has shape {arrays[key].shape}, expected {shape}", fix
            )
    for key in expected:
        if arrays[key].dtype.kind not in "if" or not np.all(np.isfinite(arrays[key])):
            raise ModelFileError(f"{path}: {key} holds non-finite or non-numeric values", fix)

    pca = PCA(k, whiten=bool(arrays["pca_whiten"]))
    pca.mean_, pca.components_, pca.explained_variance_ = mean, components, variance
    pca.n_components_, pca.n_features_in_ = k, d
    gmm = GaussianMixture(K, covariance_type=covariance_type)
    gmm.weights_, gmm.means_, gmm.covariances_ = weights, means, covariances
    gmm.precisions_cholesky_ = factor
    gmm.precisions_ = kind.precisions_from_cholesky(factor)
    gmm.n_features_in_ = k
    gmm.converged_ = True
    image_shape = tuple(int(v) for v in arrays["image_shape"])
    pixel_max = float(arrays["pixel_max"])
    if not (np.isfinite(pixel_max) and pixel_max >= 0):
        raise ModelFileError(f"{path}: pixel_max is {pixel_max}, not a grey level", fix)
    return SavedModel(
        pca,
        gmm,
        image_shape if all(image_shape) else None,
        arrays["cluster_to_label"],
        pixel_max or 255.0,
    )


_KEYS = (
    "n_features",
    "image_shape",
    "pixel_max",
    "pca_mean",
    "pca_components",
    "pca_explained_variance",
    "pca_whiten",
    "gmm_covariance_type",
    "gmm_weights",
    "gmm_means",
    "gmm_covariances",
    "gmm_precisions_cholesky",
    "cluster_to_label",
)

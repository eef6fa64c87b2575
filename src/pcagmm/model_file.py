"""Fitted models on disk: an .npz of plain arrays (no pickle), with a format version.

Layout (format 1): ``format_version``, ``n_features``, ``image_shape`` (0 x 0 when
the rows are not images), ``pixel_max`` (the largest grey level of the fitted images:
255 for MNIST, 16 for digits; 0 when not images), ``pca_mean``, ``pca_components``,
``pca_explained_variance``, ``pca_whiten``, ``gmm_covariance_type`` (a unicode
array), ``gmm_weights``, ``gmm_means``, ``gmm_covariances``,
``gmm_precisions_cholesky``, ``cluster_to_label`` (K labels, -1 where a cluster has
no matched label), and ``content_sha256``: the SHA-256 of every other array (its
name, dtype, shape and bytes, in name order), so that an array changed after pcagmm
wrote the file is refused even where the arrays still agree with each other (files
without it, written before it was added, are checked for consistency only). The
two covariance arrays have the shape the covariance type
gives (:meth:`pcagmm.mixture.covariance.CovarianceType.shape`), so a registered type
is saved and loaded like the built-in ones. ``target_names`` (a unicode vector, item
``i`` naming label ``i``) is there only when the data set names its labels
(Fashion-MNIST's); readers that do not know it ignore it. ``image_channels`` (a single
value, 3) is there only for a model of colour pictures (``--colour rgb``: red, green and
blue of each pixel, so ``height * width * 3`` features); a file without it has grey
pictures (one channel), so every file written before it still loads. A pcagmm that does
not know it refuses such a file in one line (its image_shape does not make the features)
rather than read its pictures in grey.

Format 2 is a UMAP model (``--reducer umap``), written only for those, so that a
PCA model stays readable by every pcagmm that reads format 1. It adds ``reducer``
(``"umap"``), ``umap_reference`` (the rows UMAP was fitted on, in the coordinates of
the PCA above, float32), ``umap_embedding`` (their embedding: the mixture's space),
``umap_fitted_rows`` (which rows of the fitted data they are; empty when all),
``umap_n_samples``, ``umap_n_neighbors``, ``umap_min_dist``, and ``umap_pca``
(false when UMAP ran on the rows themselves: the PCA arrays are then the identity).
New rows are placed by their neighbours (:mod:`pcagmm.reducers.placement`); no
umap-learn object is stored, so no pickle.

Format 3 is a variational Bayesian mixture (``--mixture bayesian``), written only for
those (a pcagmm that reads format 1 or 2 would predict with the weights alone, not
the variational model, so it must refuse the file). It holds the UMAP arrays where
the reducer is UMAP (``reducer`` says so), and adds ``mixture`` (``"bayesian"``),
``bgmm_weight_concentration_prior_type`` (a name), ``bgmm_weight_concentration``
((2, K), the stick-breaking Beta pairs, or (K,), the Dirichlet's),
``bgmm_mean_precision`` (K,) and ``bgmm_degrees_of_freedom`` ((K,), or one value for
tied); ``gmm_weights`` must be the posterior means of the concentrations.

Reading checks sizes before it reads: every member's ``.npy`` header first (its shape
and dtype, nothing decompressed), then the single values (format version, number of
features, names; each at most 4 KiB), which with the headers of ``pca_components``,
``gmm_weights`` (and ``umap_embedding``) give the model's sizes. Every other array's
declared shape must be the one those sizes make, and all arrays together may declare
at most 32 times the file's size (or 64 MiB; pcagmm writes them uncompressed), before
any of them is read: a small crafted file cannot make pcagmm allocate a large array.
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import atomic_file
from .datasets.formats import read_npy_header
from .errors import PcagmmError
from .resources import format_bytes

#: the format PCA models are written in (every pcagmm reads it), and UMAP models'
PCA_FORMAT_VERSION, UMAP_FORMAT_VERSION = 1, 2
#: the format of a variational Bayesian mixture's model (with either reducer)
VARIATIONAL_FORMAT_VERSION = 3
#: the newest format this pcagmm reads
FORMAT_VERSION = VARIATIONAL_FORMAT_VERSION
#: The array that holds :func:`content_digest` of the others.
DIGEST_KEY = "content_sha256"


class ModelFileError(PcagmmError, ValueError):
    """A model file that cannot be used."""


@dataclass
class SavedModel:
    """A fitted reducer (PCA or UMAP) and mixture, as loaded from a model file."""

    reducer: object
    gmm: object
    #: ``(height, width)`` of grey pictures, ``(height, width, 3)`` of colour ones
    image_shape: tuple[int, ...] | None
    cluster_to_label: np.ndarray
    pixel_max: float = 255.0
    target_names: tuple[str, ...] | None = None

    @property
    def pca(self):
        """The PCA: the reducer, or the PCA a UMAP ran on (None: on the rows)."""
        from .reducers import pca_of

        return pca_of(self.reducer)

    @property
    def n_features(self) -> int:
        return self.reducer.n_features_in_


def save_model(
    path: str | os.PathLike,
    reducer,
    gmm,
    image_shape=None,
    cluster_to_label=None,
    pixel_max=0.0,
    *,
    target_names=None,
) -> None:
    """Write a model file (to a temporary file beside it, then renamed).

    ``reducer`` is a fitted PCA or UMAP. The label matched to each cluster is kept
    where it is a whole number >= 0 (the file holds integers); text labels are not
    kept, and predict then names none. ``target_names``, the labels' names, are kept
    when given (predict shows them). ``image_shape`` is ``(height, width)`` of grey
    pictures or ``(height, width, 3)`` of colour ones (written as ``image_shape`` and
    ``image_channels``)."""
    path = Path(path)
    channels = int(image_shape[2]) if image_shape and len(image_shape) == 3 else 1
    umap_arrays = {}
    pca = reducer
    if getattr(reducer, "name", "PCA") == "UMAP":
        umap_arrays, pca = _umap_arrays(reducer)
    K = gmm.weights_.shape[0]
    matching = np.full(K, -1, dtype=np.int64)
    for cluster, label in (cluster_to_label or {}).items():
        if isinstance(label, int | np.integer) and not isinstance(label, bool) and label >= 0:
            matching[int(cluster)] = int(label)
    arrays = {
        "format_version": np.array(UMAP_FORMAT_VERSION if umap_arrays else PCA_FORMAT_VERSION),
        "n_features": np.array(pca.mean_.shape[0]),
        "image_shape": np.array(tuple(image_shape[:2]) if image_shape else (0, 0)),
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
        **umap_arrays,
    }
    if target_names:
        arrays["target_names"] = np.array([str(name) for name in target_names])
    if channels != 1:  # only colour models hold it: grey ones are written as before
        arrays["image_channels"] = np.array(channels)
    if hasattr(gmm, "weight_concentration_"):  # the variational mixture
        arrays.update(_variational_arrays(gmm))
    arrays[DIGEST_KEY] = np.array(content_digest(arrays))
    with atomic_file(path) as file:
        np.savez(file, **arrays)


def _umap_arrays(reducer) -> tuple[dict, object]:
    """A fitted UMAP's arrays, and the PCA to write beside them (the identity when UMAP
    ran on the rows themselves)."""
    pca = reducer.pca_
    if pca is None:
        from .decomposition import PCA

        d = reducer.n_features_in_
        pca = PCA(d)
        pca.mean_, pca.components_ = np.zeros(d), np.eye(d)
        pca.explained_variance_ = np.ones(d)
    fitted = reducer.fitted_rows_
    arrays = {
        "reducer": np.array("umap"),
        "umap_reference": np.asarray(reducer.reference_, dtype=np.float32),
        "umap_embedding": np.asarray(reducer.embedding_, dtype=np.float64),
        "umap_fitted_rows": np.zeros(0, np.int64) if fitted is None else fitted.astype(np.int64),
        "umap_n_samples": np.array(int(reducer.n_samples_)),
        "umap_n_neighbors": np.array(int(reducer.n_neighbors)),
        "umap_min_dist": np.array(float(reducer.min_dist)),
        "umap_pca": np.array(reducer.pca_ is not None),
    }
    return arrays, pca


def _variational_arrays(gmm) -> dict:
    concentration = gmm.weight_concentration_
    if isinstance(concentration, tuple):
        concentration = np.vstack(concentration)
    return {
        "format_version": np.array(VARIATIONAL_FORMAT_VERSION),
        "mixture": np.array("bayesian"),
        "bgmm_weight_concentration_prior_type": np.array(gmm.weight_concentration_prior_type),
        "bgmm_weight_concentration": np.asarray(concentration, dtype=np.float64),
        "bgmm_mean_precision": np.asarray(gmm.mean_precision_, dtype=np.float64),
        "bgmm_degrees_of_freedom": np.asarray(gmm.degrees_of_freedom_, dtype=np.float64),
    }


def content_digest(arrays: dict) -> str:
    """The SHA-256 (hex) of the arrays other than ``content_sha256``: each one's name,
    dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        if key == DIGEST_KEY:
            continue
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read and validate a model file; every problem is a one-line :class:`ModelFileError`.

    Parameters
    ----------
    path : str or os.PathLike
        A model file written by :func:`save_model`.

    Returns
    -------
    SavedModel

    Raises
    ------
    ModelFileError
        The file is missing, not a readable .npz (the zip's CRC-32 of every member
        catches damaged bytes), from a newer pcagmm, or its arrays are missing, of
        the wrong shape or dtype (complex, text, objects), non-finite, or
        inconsistent with each other: covariances that are not symmetric positive
        definite, precision Cholesky factors that are not the covariances' (they
        are recomputed with the covariance type and compared), weights outside
        [0, 1] or not summing to one, PCA components that are not orthonormal, an
        unknown covariance type, an image shape or pixel_max that make no sense.
        Shapes and sizes are refused from the arrays' headers, before an array
        larger than a single value is read.
    """
    path = Path(path)
    fix = "give a model.npz written by pcagmm run"
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist", fix)
    with _readable(path, fix):
        archive = zipfile.ZipFile(path)
    with archive:
        declared = _declared_arrays(path, archive, fix)
        arrays = _read_arrays(path, archive, declared, _single_values(path, declared, fix), fix)
        sizes = _check_declared(path, declared, arrays, fix)
        arrays.update(
            _read_arrays(path, archive, declared, [k for k in declared if k not in arrays], fix)
        )
    return _model(path, arrays, sizes, fix)


@dataclass(frozen=True)
class _Declared:
    """What a member's ``.npy`` header declares: the array's shape and dtype."""

    member: str  # its name in the zip
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass(frozen=True)
class _Sizes:
    """A model's sizes, from its single values and its arrays' headers."""

    d: int  # features
    k: int  # PCA components
    K: int  # clusters
    m: int  # the mixture's dimensions (k, or the UMAP embedding's)
    kind: object  # the covariance type
    covariance_type: str
    umap: bool
    prior_type: str | None = None  # the variational mixture's weights' prior (format 3)


@contextmanager
def _readable(path: Path, fix: str) -> Iterator[None]:
    """Turn what zipfile and numpy's .npy reader raise on damaged bytes into one line."""
    try:
        yield
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable model file ({exc})", fix) from None
    except Exception as exc:  # zipfile and the .npy reader raise others on damaged bytes
        raise ModelFileError(
            f"{path} is not a readable model file ({type(exc).__name__}: {exc})", fix
        ) from None


def _declared_arrays(path: Path, archive: zipfile.ZipFile, fix: str) -> dict[str, _Declared]:
    """Every member's header (named as :func:`numpy.load` names them), nothing more read."""
    declared = {}
    with _readable(path, fix):
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            with archive.open(info) as member:
                shape, _, dtype = read_npy_header(member)
            if dtype.hasobject:
                raise ModelFileError(
                    f"{path} is not a readable model file ({key} holds Python objects, "
                    "which pcagmm never writes)",
                    fix,
                )
            declared[key] = _Declared(info.filename, tuple(shape), dtype)
    return declared


def _single_values(path: Path, declared: dict, fix: str) -> list[str]:
    """The single values the file holds (format version, sizes, names), each refused
    from its header when it declares more than :data:`_METADATA_BYTES`."""
    keys = [key for key in _METADATA if key in declared]
    for key in keys:
        item = declared[key]
        if item.nbytes > _METADATA_BYTES:
            raise ModelFileError(
                f"{path}: {key} has shape {item.shape} of {item.dtype} "
                f"({format_bytes(item.nbytes)}), expected {_METADATA[key]} (it was not read)",
                fix,
            )
    return keys


def _read_arrays(
    path: Path, archive: zipfile.ZipFile, declared: dict, keys: list[str], fix: str
) -> dict:
    """The arrays ``keys`` (their headers already checked), read."""
    arrays = {}
    with _readable(path, fix):
        for key in keys:
            with archive.open(declared[key].member) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
            if array.shape != declared[key].shape or array.dtype != declared[key].dtype:
                raise ModelFileError(f"{path}: {key} changed while it was read", fix)
            arrays[key] = array
    return arrays


def _check_declared(path: Path, declared: dict, arrays: dict, fix: str) -> _Sizes:
    """The model's sizes, and every array's declared shape and the file's declared
    bytes checked against them: nothing but the single values has been read yet."""
    from .mixture.covariance import covariance_type as covariance_kind

    if "format_version" not in arrays:
        raise ModelFileError(f"{path} has no format version: it is not a pcagmm model", fix)
    version = _whole_number(path, arrays, "format_version", fix)
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} is model format {version}, newer than this pcagmm reads ({FORMAT_VERSION})",
            "upgrade pcagmm",
        )
    if version < 1:
        raise ModelFileError(f"{path} is model format {version}, which no pcagmm wrote", fix)
    variational = version == VARIATIONAL_FORMAT_VERSION
    umap = version == UMAP_FORMAT_VERSION or (variational and "reducer" in declared)
    needed = _KEYS + (_UMAP_KEYS if umap else ()) + (_VARIATIONAL_KEYS if variational else ())
    missing = [key for key in needed if key not in declared]
    if missing:
        raise ModelFileError(f"{path} lacks {', '.join(missing)}", fix)
    name = arrays["gmm_covariance_type"]
    if name.shape != () or name.dtype.kind != "U":
        raise ModelFileError(
            f"{path}: gmm_covariance_type is not a name (a {name.dtype} array of shape "
            f"{name.shape})",
            fix,
        )
    try:
        covariance_type = str(name)
        kind = covariance_kind(covariance_type)
    except ValueError as exc:
        raise ModelFileError(f"{path} has inconsistent contents ({exc})", fix) from None
    d = _whole_number(path, arrays, "n_features", fix)
    components = declared["pca_components"]
    weights = declared["gmm_weights"]
    if components.ndim != 2 or weights.ndim != 1:
        raise ModelFileError(
            f"{path}: pca_components has shape {components.shape} and gmm_weights "
            f"{weights.shape}, expected a matrix and a vector",
            fix,
        )
    k, K = components.shape[0], weights.shape[0]
    if not (1 <= k <= d and K >= 1):
        raise ModelFileError(
            f"{path} has {k} components of {d} features and {K} clusters; a model has "
            "1 <= components <= features and at least one cluster",
            fix,
        )
    rows, m = _umap_dimensions(path, declared, arrays, k, fix) if umap else (0, k)
    expected = {
        "pca_mean": (d,),
        "pca_components": (k, d),
        "pca_explained_variance": (k,),
        "gmm_weights": (K,),
        "gmm_means": (K, m),
        "gmm_covariances": kind.shape(K, m),
        "gmm_precisions_cholesky": kind.shape(K, m),
        "cluster_to_label": (K,),
        "image_shape": (2,),
        "pixel_max": (),
        **({"image_channels": ()} if "image_channels" in declared else {}),
        "pca_whiten": (),
    }
    prior_type = None
    if variational:
        prior_type = _variational_names(path, arrays, fix)
        expected.update(
            {
                "bgmm_weight_concentration": (2, K) if prior_type == "dirichlet_process" else (K,),
                "bgmm_mean_precision": (K,),
                "bgmm_degrees_of_freedom": () if covariance_type == "tied" else (K,),
            }
        )
    made = f"{K} clusters in {m} dimensions, {k} components of {d} features"
    if umap:
        made += f", {rows} UMAP rows"
    for key, shape in expected.items():
        if declared[key].shape != shape:
            raise ModelFileError(
                f"{path}: {key} has shape {declared[key].shape}, expected {shape} (the "
                f"model's {made}; the array was not read)",
                fix,
            )
    total, size = sum(item.nbytes for item in declared.values()), path.stat().st_size
    if total > max(_DECLARED_FLOOR, _EXPANSION_LIMIT * size):
        raise ModelFileError(
            f"{path}: its arrays declare {format_bytes(total)} in a file of "
            f"{format_bytes(size)}; pcagmm writes them uncompressed (the arrays were not "
            "read)",
            fix,
        )
    return _Sizes(d, k, K, m, kind, covariance_type, umap, prior_type)


def _model(path: Path, arrays: dict, sizes: _Sizes, fix: str) -> SavedModel:
    """The model of a file whose arrays (all read) have the declared shapes, their
    values checked."""
    d, k, K, m, kind = sizes.d, sizes.k, sizes.K, sizes.m, sizes.kind
    if sizes.umap:
        _check_umap_values(path, arrays, fix)
    numbers = [*_NUMBERS, "image_shape", "pixel_max", *_present(arrays, "image_channels")]
    for key in numbers:
        if arrays[key].dtype.kind not in "iuf" or not np.all(np.isfinite(arrays[key])):
            raise ModelFileError(f"{path}: {key} holds non-finite or non-numeric values", fix)
    if arrays["pca_whiten"].dtype.kind != "b":
        raise ModelFileError(f"{path}: pca_whiten is not true or false", fix)
    whiten = bool(arrays["pca_whiten"])
    floats = {key: arrays[key].astype(np.float64) for key in _NUMBERS[:7]}
    with np.errstate(all="ignore"):  # extreme values are refused, not warned about
        _check_consistency(path, floats, kind, whiten, fix)
    image_shape, pixel_max = _image_settings(path, arrays, d, fix)
    labels = arrays["cluster_to_label"]
    if labels.dtype.kind not in "iu" or np.any(labels < -1):
        raise ModelFileError(
            f"{path}: cluster_to_label holds {labels.dtype} values down to {labels.min()}, "
            "not labels (-1 for none)",
            fix,
        )
    names = arrays.get("target_names")
    if names is not None and (names.ndim != 1 or names.dtype.kind != "U"):
        raise ModelFileError(f"{path}: target_names is not a vector of names", fix)
    _check_digest(path, arrays, fix)

    from .decomposition import PCA
    from .mixture import BayesianGaussianMixture, GaussianMixture

    pca = PCA(k, whiten=whiten)
    pca.mean_ = floats["pca_mean"]
    pca.components_ = floats["pca_components"]
    pca.explained_variance_ = floats["pca_explained_variance"]
    pca.n_components_, pca.n_features_in_ = k, d
    if sizes.prior_type is None:
        gmm = GaussianMixture(K, covariance_type=sizes.covariance_type)
    else:
        gmm = BayesianGaussianMixture(
            K,
            covariance_type=sizes.covariance_type,
            weight_concentration_prior_type=sizes.prior_type,
        )
        _set_variational(path, gmm, arrays, floats["gmm_weights"], m, fix)
    gmm.weights_, gmm.means_ = floats["gmm_weights"], floats["gmm_means"]
    gmm.covariances_ = floats["gmm_covariances"]
    gmm.precisions_cholesky_ = floats["gmm_precisions_cholesky"]
    gmm.precisions_ = kind.precisions_from_cholesky(gmm.precisions_cholesky_)
    gmm.n_features_in_ = m
    gmm.converged_ = True
    reducer = _umap(arrays, pca) if sizes.umap else pca
    return SavedModel(
        reducer,
        gmm,
        image_shape,
        labels.astype(np.int64),
        pixel_max or 255.0,
        None if names is None else tuple(str(name) for name in names),
    )


def _umap_dimensions(path: Path, declared: dict, arrays: dict, k: int, fix: str):
    """The UMAP rows and the embedding's dimensions of a UMAP model file, from its
    arrays' headers and single values."""
    name = arrays["reducer"]
    if name.shape != () or name.dtype.kind != "U" or str(name) != "umap":
        raise ModelFileError(f"{path}: reducer is not 'umap'", fix)
    reference, embedding = declared["umap_reference"], declared["umap_embedding"]
    if reference.ndim != 2 or embedding.ndim != 2 or reference.shape[1] != k:
        raise ModelFileError(
            f"{path}: umap_reference has shape {reference.shape} and umap_embedding "
            f"{embedding.shape}; expected (rows, {k}) and (rows, dimensions)",
            fix,
        )
    rows, m = embedding.shape
    n_samples = _whole_number(path, arrays, "umap_n_samples", fix)
    neighbours = _whole_number(path, arrays, "umap_n_neighbors", fix)
    fitted = declared["umap_fitted_rows"]
    if (
        reference.shape[0] != rows
        or not 2 <= neighbours <= rows
        or m < 1
        or fitted.ndim != 1
        or fitted.dtype.kind not in "iu"
        or fitted.shape[0] not in (0, rows)
        or (fitted.shape[0] == 0 and n_samples != rows)
    ):
        raise _umap_disagree(path, reference.shape[0], rows, fitted, n_samples, neighbours, fix)
    return rows, m


def _umap_disagree(path, reference_rows, rows, fitted, n_samples, neighbours, fix):
    return ModelFileError(
        f"{path}: its UMAP arrays disagree ({reference_rows} reference rows, "
        f"{rows} embedded, {fitted.shape[0]} fitted row numbers of {n_samples}, "
        f"{neighbours} neighbours)",
        fix,
    )


def _check_umap_values(path: Path, arrays: dict, fix: str) -> None:
    """The values of a UMAP model file's arrays (their shapes already checked)."""
    fitted, n_samples = arrays["umap_fitted_rows"], int(arrays["umap_n_samples"])
    if fitted.size and (np.any(np.diff(fitted) <= 0) or fitted[0] < 0 or fitted[-1] >= n_samples):
        rows = arrays["umap_embedding"].shape[0]
        neighbours = int(arrays["umap_n_neighbors"])
        raise _umap_disagree(path, rows, rows, fitted, n_samples, neighbours, fix)
    for key in ("umap_reference", "umap_embedding", "umap_min_dist"):
        if arrays[key].dtype.kind != "f" or not np.all(np.isfinite(arrays[key])):
            raise ModelFileError(f"{path}: {key} holds non-finite or non-numeric values", fix)
    if arrays["umap_pca"].shape != () or arrays["umap_pca"].dtype.kind != "b":
        raise ModelFileError(f"{path}: umap_pca is not true or false", fix)


def _umap(arrays: dict, pca):
    """The fitted UMAP of a (checked) UMAP model file, around its PCA."""
    from .reducers.umap import UMAP

    embedding = arrays["umap_embedding"].astype(np.float64)
    fitted = arrays["umap_fitted_rows"].astype(np.int64)
    umap = UMAP(
        embedding.shape[1],
        n_neighbors=int(arrays["umap_n_neighbors"]),
        min_dist=float(arrays["umap_min_dist"]),
        pca_components=pca.n_components_ if bool(arrays["umap_pca"]) else None,
    )
    umap.pca_ = pca if bool(arrays["umap_pca"]) else None
    umap.reference_ = arrays["umap_reference"].astype(np.float32)
    umap.embedding_ = embedding
    umap.fitted_rows_ = fitted if fitted.size else None
    umap.n_components_ = embedding.shape[1]
    umap.n_samples_ = int(arrays["umap_n_samples"])
    umap.n_features_in_ = pca.n_features_in_
    return umap


#: Tolerances of the consistency checks: files written by pcagmm pass them by orders
#: of magnitude; they only catch arrays that were changed.
_WEIGHTS_SUM_TOLERANCE = 1e-6
_FACTOR_TOLERANCE = 1e-6
_SYMMETRY_TOLERANCE = 1e-8
_ORTHONORMAL_TOLERANCE = 1e-6
#: The largest pixel_max a model may carry (16-bit images).
_PIXEL_MAX_LIMIT = 65535.0
#: The most bytes a single value of a model file (see :data:`_METADATA`) may declare:
#: they are read first, to size the rest (the digest is 256 bytes).
_METADATA_BYTES = 4096
#: pcagmm writes a model's arrays uncompressed, so they declare about as many bytes
#: as the file holds: more than this many times its size (and more than
#: :data:`_DECLARED_FLOOR`) is a decompression bomb, refused before reading.
_EXPANSION_LIMIT = 32
_DECLARED_FLOOR = 64 << 20


def _whole_number(path: Path, arrays: dict, key: str, fix: str) -> int:
    """A scalar integer array's value, or a ModelFileError."""
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in "iu":
        raise ModelFileError(
            f"{path}: {key} is not a whole number (a {value.dtype} array of shape {value.shape})",
            fix,
        )
    return int(value)


def _variational_names(path: Path, arrays: dict, fix: str) -> str:
    """The variational model's names (format 3): its mixture and weights' prior."""
    from .mixture.variational import PRIOR_TYPES

    for key in ("mixture", "bgmm_weight_concentration_prior_type"):
        if arrays[key].shape != () or arrays[key].dtype.kind != "U":
            raise ModelFileError(f"{path}: {key} is not a name", fix)
    if str(arrays["mixture"]) != "bayesian":
        raise ModelFileError(f"{path}: mixture is {str(arrays['mixture'])!r}, not 'bayesian'", fix)
    prior_type = str(arrays["bgmm_weight_concentration_prior_type"])
    if prior_type not in PRIOR_TYPES:
        raise ModelFileError(
            f"{path}: bgmm_weight_concentration_prior_type is {prior_type!r}, not one of "
            f"{', '.join(PRIOR_TYPES)}",
            fix,
        )
    return prior_type


def _set_variational(path: Path, gmm, arrays: dict, weights, m: int, fix: str) -> None:
    """Check the variational parameters (finite, positive, degrees of freedom above
    m - 1, ``gmm_weights`` their posterior means) and set them on ``gmm``."""
    from .mixture.bayesian import posterior_weights

    values = {}
    for key in _VARIATIONAL_KEYS[2:]:
        array = arrays[key]
        if array.dtype.kind not in "iuf" or not np.all(np.isfinite(array)) or np.any(array <= 0):
            raise ModelFileError(f"{path}: {key} holds values that are not positive numbers", fix)
        values[key] = array.astype(np.float64)
    dof = values["bgmm_degrees_of_freedom"]
    if np.any(dof <= m - 1):
        raise ModelFileError(
            f"{path}: bgmm_degrees_of_freedom go down to {dof.min():.6g}, not above {m - 1}", fix
        )
    concentration = values["bgmm_weight_concentration"]
    if concentration.ndim == 2:
        concentration = (concentration[0], concentration[1])
    expected = posterior_weights(concentration, gmm.weight_concentration_prior_type)
    if np.abs(expected - weights).max() > _WEIGHTS_SUM_TOLERANCE:
        raise ModelFileError(
            f"{path}: gmm_weights are not the posterior means of bgmm_weight_concentration", fix
        )
    gmm.weight_concentration_ = concentration
    gmm.mean_precision_ = values["bgmm_mean_precision"]
    gmm.degrees_of_freedom_ = float(dof) if dof.ndim == 0 else dof


def _check_consistency(path: Path, floats: dict, kind, whiten: bool, fix: str) -> None:
    """The arrays agree with each other, as a fitted model's do."""
    weights = floats["gmm_weights"]
    if np.any(weights < 0) or np.any(weights > 1):
        raise ModelFileError(
            f"{path}: gmm_weights holds values outside [0, 1] ({weights.min():.6g} to "
            f"{weights.max():.6g})",
            fix,
        )
    if abs(weights.sum() - 1.0) > _WEIGHTS_SUM_TOLERANCE:
        raise ModelFileError(f"{path}: gmm_weights sum to {weights.sum():.9g}, not 1", fix)
    variance = floats["pca_explained_variance"]
    if np.any(variance < 0) or (whiten and np.any(variance <= 0)):
        raise ModelFileError(
            f"{path}: pca_explained_variance holds {variance.min():.6g}, not a "
            + ("positive variance (the PCA whitens)" if whiten else "variance"),
            fix,
        )
    components = floats["pca_components"]
    gram = components @ components.T
    if not np.allclose(gram, np.eye(len(gram)), rtol=0, atol=_ORTHONORMAL_TOLERANCE):
        raise ModelFileError(f"{path}: pca_components are not orthonormal", fix)
    covariances = floats["gmm_covariances"]
    if kind.holds_matrices:
        asymmetry = np.abs(covariances - np.swapaxes(covariances, -1, -2)).max()
        if asymmetry > _SYMMETRY_TOLERANCE * max(1.0, np.abs(covariances).max()):
            raise ModelFileError(f"{path}: gmm_covariances are not symmetric", fix)
    try:
        recomputed = kind.precision_cholesky(covariances)
    except (ValueError, np.linalg.LinAlgError, ArithmeticError):
        raise ModelFileError(
            f"{path}: gmm_covariances are not positive definite (their Cholesky "
            "factorisation fails)",
            fix,
        ) from None
    factor = floats["gmm_precisions_cholesky"]
    scale = max(1.0, float(np.abs(recomputed).max()))
    if not (
        np.all(np.isfinite(recomputed))
        and np.abs(factor - recomputed).max() <= _FACTOR_TOLERANCE * scale
    ):
        raise ModelFileError(
            f"{path}: gmm_precisions_cholesky is not the Cholesky factor of the precisions "
            "of gmm_covariances",
            fix,
        )


def _check_digest(path: Path, arrays: dict, fix: str) -> None:
    """The recorded SHA-256 of the arrays, where the file has one, is theirs."""
    if DIGEST_KEY not in arrays:
        return  # written before the digest was added: the checks above are all there is
    recorded = arrays[DIGEST_KEY]
    if recorded.shape != () or recorded.dtype.kind != "U":
        raise ModelFileError(f"{path}: {DIGEST_KEY} is not a SHA-256", fix)
    if str(recorded) != content_digest(arrays):
        raise ModelFileError(
            f"{path}: its arrays do not match the SHA-256 recorded in it (the file was "
            "changed after pcagmm wrote it)",
            fix,
        )


def _image_settings(path: Path, arrays: dict, d: int, fix: str):
    """``image_shape`` (None when not images; ``(height, width, 3)`` for colour
    pictures) and ``pixel_max``, checked."""
    shape = arrays["image_shape"]
    if shape.dtype.kind not in "iu" or np.any(shape < 0):
        raise ModelFileError(f"{path}: image_shape is {shape.tolist()}, not a size", fix)
    height, width = (int(v) for v in shape)
    channels = 1
    if "image_channels" in arrays:
        value = arrays["image_channels"]
        if value.dtype.kind not in "iu" or int(value) != 3 or not height:
            raise ModelFileError(
                f"{path}: image_channels is {value.tolist()!r}, expected 3 (red, green, "
                "blue) beside an image_shape",
                fix,
            )
        channels = 3
    if (height == 0) != (width == 0) or (height and height * width * channels != d):
        pictures = f"{height} x {width}" + (" x 3" if channels == 3 else "")
        raise ModelFileError(
            f"{path}: image_shape {pictures} does not make the {d} features "
            "(0 x 0 when the rows are not images)",
            fix,
        )
    pixel_max = float(arrays["pixel_max"])
    if not 0 <= pixel_max <= _PIXEL_MAX_LIMIT:
        raise ModelFileError(
            f"{path}: pixel_max is {pixel_max:g}, not a grey level (0 to 65535)", fix
        )
    if not height:
        return None, pixel_max
    return ((height, width, 3) if channels == 3 else (height, width)), pixel_max


def _present(arrays: dict, *keys: str) -> list[str]:
    """Those of the optional ``keys`` the file holds."""
    return [key for key in keys if key in arrays]


_UMAP_KEYS = (
    "reducer",
    "umap_reference",
    "umap_embedding",
    "umap_fitted_rows",
    "umap_n_samples",
    "umap_n_neighbors",
    "umap_min_dist",
    "umap_pca",
)
#: The single values of a model file, and what each one is.
#: the arrays of a variational mixture's model (format 3)
_VARIATIONAL_KEYS = (
    "mixture",
    "bgmm_weight_concentration_prior_type",
    "bgmm_weight_concentration",
    "bgmm_mean_precision",
    "bgmm_degrees_of_freedom",
)
_METADATA = {
    "format_version": "a single value",
    "mixture": "a single value",
    "bgmm_weight_concentration_prior_type": "a single value",
    "n_features": "a single value",
    "image_shape": "two numbers (height, width)",
    "pixel_max": "a single value",
    "image_channels": "a single value",
    "pca_whiten": "a single value",
    "gmm_covariance_type": "a single value",
    "reducer": "a single value",
    "umap_n_samples": "a single value",
    "umap_n_neighbors": "a single value",
    "umap_min_dist": "a single value",
    "umap_pca": "a single value",
    DIGEST_KEY: "a single value",
}
#: The arrays of numbers whose values are checked to be finite.
_NUMBERS = (
    "pca_mean",
    "pca_components",
    "pca_explained_variance",
    "gmm_weights",
    "gmm_means",
    "gmm_covariances",
    "gmm_precisions_cholesky",
    "cluster_to_label",
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

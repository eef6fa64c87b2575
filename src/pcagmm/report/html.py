"""report.html: a run as one self-contained page to explore in a browser.

The page (``page/body.html``, ``page/report.css``, ``page/report.js``, written by hand:
no third-party code, nothing fetched when it is viewed) draws the projection on a
canvas and reads its data from the file itself:

* one JSON block (``<script type="application/json" id="pcagmm-meta">``): the mixture,
  the axes, the tables of the terminal report, the run's configuration and data hash,
  the rows listed for each cluster, the rules of the uncertainty colouring and the
  density contours (the page computes both itself, for whichever axes it shows), and
  the selection and stability results when the folder holds them;
* binary blobs, each compressed with raw DEFLATE (zlib, decoded by the browser's
  ``DecompressionStream("deflate-raw")``) and written as text in a base-85 alphabet
  (:data:`ALPHABET`, which has no ``<``, ``&`` or quotes, so a blob can never end its
  ``<script>`` element): the coordinates, labels and clusters of the rows shown, and
  their images at :data:`IMAGE_LEVELS` grey levels, two pixels to a byte (colour
  pictures: each pixel's red, green and blue at as many levels, two values to a byte).

Why so: the images are most of the bytes. MNIST's 70,000 images take 11.5 MB deflated
at 8 bits and 6.7 MB at 4 bits; base 85 adds a quarter (base 64 would add a third).
The cluster probabilities are not stored when every component of the projection is
(up to :data:`MAX_AXES`): the page computes them from the coordinates and the mixture,
in double precision. Above :data:`MAX_POINTS` rows the page shows a uniform sample of
them and says so; the tables stay those of all rows.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import os
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from .files import json_ready
from .labels import label_text

#: the most rows a page shows; above it, a uniform sample of this many (images are
#: ~0.12 MB per 1,000 MNIST rows, so 100,000 rows keep a page near 12 MB)
MAX_POINTS = 100_000
#: the most projection components a page holds (selectable as its axes)
MAX_AXES = 10
#: grey levels of the images in the page (4 bits)
IMAGE_LEVELS = 16
#: rows listed per cluster: a uniform sample, and the most uncertain
CLUSTER_ROWS = 48
#: the digits of the page's base-85 text: no ``< > & " ' \\ / `` or space
ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%()*+-;=?@^_{|}~.,:["
#: the files of an analysis that a page shows when a run folder holds them:
#: (stem, title); each as its figure ``stem.png``/``stem.svg`` and table ``stem.csv``
ANALYSES = (("selection", "Model selection"), ("stability", "Stability"))
#: a blob's bytes are deflated in parts of at most this many, side by side
PART_BYTES = 8 << 20
#: zlib's level for the blobs: on MNIST's page level 4 deflates 2.2x faster than level
#: 6 (0.48 s against 1.07 s of CPU) for 3% more bytes (7.53 MB against 7.33 MB); level 3
#: and below would take the page over its 10 MB (BENCHMARKS.md, "report.html")
DEFLATE_LEVEL = 4
#: version of the page's data layout (the JSON's "format")
FORMAT = 1

assert len(ALPHABET) == 85 and len(set(ALPHABET)) == 85


@dataclasses.dataclass
class PageInputs:
    """What a page is made of; see :func:`render`.

    Attributes
    ----------
    Z : ndarray of shape (n_rows, n_components)
        The projection of every row.
    clusters : ndarray of shape (n_rows,)
        The cluster of each row.
    labels : ndarray of shape (n_rows,) or None
        The true labels.
    class_names : sequence of str or None
        Names of the labels when the labels are their indices (MNIST: the digits).
    images : ndarray of shape (n_rows, height * width) or None
        The rows' pixels, for image data (a memory map is read only where shown);
        ``height * width * 3`` for colour pictures (red, green, blue of each pixel).
    image_shape : (int, int) or (int, int, 3) or None
        ``(height, width)`` of grey pictures, ``(height, width, 3)`` of colour ones.
    pixel_max : float
        The largest level (the images' white; of each channel, for colour).
    gmm
        The fitted mixture (``weights_``, ``means_``, ``covariances_``,
        ``covariance_type``, ``predict_proba``).
    mean_images : ndarray of shape (n_clusters, height * width) or None
        Each cluster's picture in image space (PCA: its mean mapped back; an
        embedding: the average of its rows).
    summary : dict
        What summary.json holds (configuration, data, metrics, mixture, timings).
    axis_names : list of str
        Each component's name (``PC1 (9.70%)``, ``UMAP 1``).
    label_name : str
        What the labels are (``Digit label``).
    title : str
    folder : Path or None
        Where an analysis' files are read from (:data:`ANALYSES`).
    projection : str
        The reducer's name: ``"PCA"``, or an embedding's (``"UMAP"``).
    images_id : str or None
        A digest of the images' content (the data set's SHA-256): the encoded images
        are then kept in the cache folder and read back by the next page of the same
        rows (:mod:`~pcagmm.report.image_cache`). None: encoded every time.
    matching : dict or None
        Cluster -> the label it was matched to (None without labels); the page shows
        each as :func:`~pcagmm.report.labels.label_text` with ``class_names``
        (``Ankle boot (9)``).
    kept_weight : float or None
        A variational mixture's threshold (:attr:`~pcagmm.workflow.result.Result.kept_weight`):
        the page marks the components below it as switched off. None for EM's mixture,
        whose components are all drawn alike.
    """

    Z: np.ndarray
    clusters: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None
    images: np.ndarray | None
    image_shape: tuple[int, ...] | None
    pixel_max: float
    gmm: object
    mean_images: np.ndarray | None
    summary: dict
    axis_names: list[str]
    label_name: str
    title: str
    folder: Path | None = None
    projection: str = "PCA"
    images_id: str | None = None
    matching: dict | None = None
    kept_weight: float | None = None


def render(inputs: PageInputs, *, max_points: int = MAX_POINTS, rng=None) -> str:
    """The page, as one HTML document: :func:`pack` then :func:`document`.

    ``rng`` (a :class:`numpy.random.Generator`, default ``default_rng(0)``) draws the
    sample of rows above ``max_points`` and the rows listed for each cluster.
    """
    packed = pack(inputs, max_points=max_points, rng=rng)
    return document(packed, inputs.summary, inputs.folder)


@dataclasses.dataclass
class PackedRows:
    """What a page holds about its rows and mixture (the slow part to make): the JSON
    block's entries, and the encoded blobs as ``(name, part, text)``."""

    meta: dict
    blobs: list[tuple[str, int, str]]


def pack(inputs: PageInputs, *, max_points: int = MAX_POINTS, rng=None) -> PackedRows:
    """The rows shown, their blobs encoded, and the mixture (all but ``inputs.summary``
    and ``inputs.folder``, which :func:`document` adds)."""
    rng = np.random.default_rng(0) if rng is None else rng
    n, d = inputs.Z.shape
    shown = _shown_rows(n, max_points, rng)
    m = min(d, MAX_AXES)
    Z = np.asarray(inputs.Z[shown], dtype=np.float64)  # every component, for the mixture
    clusters = np.asarray(inputs.clusters)[shown]
    K = inputs.gmm.weights_.shape[0]
    with np.errstate(all="ignore"):
        probabilities = inputs.gmm.predict_proba(Z)
    blobs = {"clusters": _integers(clusters, K)}
    coordinates = []
    for j in range(m):
        blob, layout = _coordinates(Z[:, j])
        blobs[f"axis{j}"] = blob
        coordinates.append(layout)
    if m < d:  # the page cannot compute them from the axes it holds
        blobs["probabilities"] = _quantised_probabilities(probabilities)
    if len(shown) < n:
        blobs["rows"] = shown.astype("<u4").tobytes()
    classes = None
    if inputs.labels is not None:
        names, index = _classes(np.asarray(inputs.labels)[shown], inputs.class_names)
        classes = names
        blobs["labels"] = _integers(index, len(names))
    image, ready = None, {}
    if inputs.images is not None and inputs.image_shape is not None:
        from .image_cache import encoded_images

        def encode_images():
            return _encode_all(_parts(_packed_images(inputs.images, shown, inputs.pixel_max)))

        parts = encoded_images(
            inputs.images_id, shown, inputs.pixel_max, encode_images, image_encoding()
        )
        ready["images"] = (len(shown) * _image_row_bytes(inputs.images.shape[1]), parts)
        image = {"height": int(inputs.image_shape[0]), "width": int(inputs.image_shape[1])}
        image["levels"] = IMAGE_LEVELS
        # grey: one level per pixel; colour: red, green, blue of each pixel, row by row
        image["channels"] = int(inputs.image_shape[2]) if len(inputs.image_shape) == 3 else 1
    layouts, texts = _encoded(blobs, ready)
    meta = {
        "format": FORMAT,
        "title": inputs.title,
        "rows_total": int(n),
        "rows_shown": len(shown),
        "max_points": int(max_points),
        "components": int(d),
        "projection": inputs.projection,
        "axes": [{"name": inputs.axis_names[j], **coordinates[j]} for j in range(m)],
        "label_name": inputs.label_name,
        "classes": classes,
        "matched": _matched(inputs.matching, inputs.class_names, K),
        "image": image,
        "mixture": {
            **_mixture(inputs.gmm, m, d, inputs.mean_images, inputs.pixel_max),
            **_kept(inputs.gmm, inputs.kept_weight),
        },
        "cluster_rows": _cluster_rows(clusters, probabilities, K, rng),
        **_mixture_plots(),
        "blobs": layouts,
    }
    return PackedRows(meta, texts)


# ------------------------------------------------------------------------------ the rows shown


def _shown_rows(n: int, max_points: int, rng) -> np.ndarray:
    """All rows, or a uniform sample of ``max_points`` of them, in order."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def _coordinates(values: np.ndarray) -> tuple[bytes, dict]:
    """One axis as ``centre + scale * v``: ``v`` in float32 where that keeps every value
    to float32's relative precision (the common case), else float64."""
    finite = values[np.isfinite(values)]
    centre = float(np.median(finite)) if finite.size else 0.0
    spread = np.abs(finite - centre).max() if finite.size else 0.0
    scale = float(spread) if spread > 0 and np.isfinite(spread) else 1.0
    v = (values - centre) / scale
    single = v.astype(np.float32)
    tiny = np.abs(v[v != 0]).min() if np.any(v != 0) else 1.0
    exact_enough = tiny >= np.finfo(np.float32).tiny and np.all(np.isfinite(single))
    raw = single.astype("<f4").tobytes() if exact_enough else v.astype("<f8").tobytes()
    return raw, {"centre": centre, "scale": scale, "dtype": "f4" if exact_enough else "f8"}


def _integers(values: np.ndarray, count: int) -> bytes:
    """Indices below ``count`` in the narrowest of uint8, uint16, uint32."""
    dtype = "<u1" if count <= 2**8 else "<u2" if count <= 2**16 else "<u4"
    return np.asarray(values).astype(dtype).tobytes()


def _quantised_probabilities(probabilities: np.ndarray) -> bytes:
    """Probabilities to 1/255 (uint8), row by row."""
    return np.rint(np.nan_to_num(probabilities) * 255).astype(np.uint8).tobytes()


def _matched(matching: dict | None, class_names, K: int) -> list[str | None] | None:
    """Each cluster's matched label as shown (``Ankle boot (9)``), None where it has none."""
    if matching is None:
        return None
    return [
        label_text(matching[k], class_names) if matching.get(k) is not None else None
        for k in range(K)
    ]


def _classes(labels: np.ndarray, class_names) -> tuple[list[str], np.ndarray]:
    """The distinct labels (their names) and each row's index among them."""
    values, index = np.unique(labels, return_inverse=True)
    names = []
    for value in values.tolist():
        if class_names is not None and isinstance(value, int) and 0 <= value < len(class_names):
            names.append(str(class_names[value]))
        else:
            names.append(str(value))
    return names, index


def _packed_images(X, shown: np.ndarray, pixel_max: float, chunk: int = 8192) -> memoryview:
    """The rows' pixels at :data:`IMAGE_LEVELS` grey levels (:func:`image_levels`), two
    to a byte (the first pixel in the high half), each row padded to whole bytes. A
    colour row's values (red, green, blue of each pixel) are packed alike, each channel
    a level: the bytes depend on the values only, not on what they are."""
    p = X.shape[1]
    out = np.empty((len(shown), _image_row_bytes(p)), dtype=np.uint8)
    # uint8 pixels: the level of each of the 256 values, looked up
    table = image_levels(np.arange(256), pixel_max).astype(np.uint8)
    for start in range(0, len(shown), chunk):
        rows = np.asarray(X[shown[start : start + chunk]])
        levels = table[rows] if rows.dtype == np.uint8 else image_levels(rows, pixel_max)
        levels = levels.astype(np.uint8)
        if p % 2:
            levels = np.pad(levels, ((0, 0), (0, 1)))
        out[start : start + chunk] = (levels[:, 0::2] << 4) | levels[:, 1::2]
    return out.reshape(-1).data  # the buffer itself, not a copy


def _image_row_bytes(pixels: int) -> int:
    """Bytes a row of ``pixels`` takes in the images blob: two pixels to a byte."""
    return (pixels + 1) // 2


def image_levels(X: np.ndarray, pixel_max: float) -> np.ndarray:
    """The grey levels (0 to :data:`IMAGE_LEVELS` - 1) a page holds for rows ``X``."""
    top = IMAGE_LEVELS - 1
    return np.clip(np.rint(np.asarray(X, float) * (top / max(pixel_max, 1e-300))), 0, top)


# ------------------------------------------------------------------------ the mixture and tables


def _mixture(gmm, m: int, d: int, mean_images, pixel_max: float) -> dict:
    """The mixture on the page's axes: weights, means, covariances (the first ``m``
    components of the projection), whether the page holds all of them, and the
    cluster means as images (levels 0-255; of each channel, for colour pictures)."""
    from ..mixture.covariance import covariance_type

    K = gmm.weights_.shape[0]
    kind = covariance_type(gmm.covariance_type)
    try:
        block = kind.block(gmm.covariances_, K, m)
    except NotImplementedError:  # a registered type that defines plane() only
        if m == 2:
            block = kind.plane(gmm.covariances_, K)
        else:  # axis-aligned: what its variances() give
            variances = kind.variances(gmm.covariances_, K, np.asarray(gmm.means_).shape[1])
            block = np.stack([np.diag(v[:m]) for v in variances])
    images = None
    if mean_images is not None:
        scaled = np.clip(np.asarray(mean_images, float) * (255 / max(pixel_max, 1e-300)), 0, 255)
        images = np.rint(scaled).astype(int).tolist()
    return {
        "K": int(K),
        "covariance_type": gmm.covariance_type,
        "weights": gmm.weights_.tolist(),
        "means": np.asarray(gmm.means_)[:, :m].tolist(),
        "covariances": np.asarray(block, dtype=np.float64).tolist(),
        "all_components": m == d,
        "mean_images": images,
    }


def _kept(gmm, kept_weight: float | None) -> dict:
    """A variational mixture's kept components (heaviest first) and the threshold they
    were kept at, as ``{"kept": [...], "kept_weight": W}``; nothing for EM's mixture
    (``kept_weight`` None, or a mixture without ``kept``): its page is unchanged."""
    if kept_weight is None or not hasattr(gmm, "kept"):
        return {}
    return {
        "kept": [int(k) for k in gmm.kept(kept_weight)],
        "kept_weight": float(kept_weight),
    }


def _mixture_plots() -> dict:
    """The rules of the page's uncertainty colouring and density contours, those of the
    run's figures (:mod:`~pcagmm.report.mixture_plots`): the page computes the
    uncertainties from its probabilities and the contours' levels itself, for whichever
    two axes it shows, by the same rule (draws from its own seeded generator)."""
    from . import mixture_plots

    return {
        "uncertainty": {"unsure": mixture_plots.UNSURE, "large_from": mixture_plots.LARGE_FROM},
        "density": {
            "shares": list(mixture_plots.HDR_SHARES),
            "draws": mixture_plots.HDR_DRAWS,
            "seed": mixture_plots.HDR_SEED,
        },
    }


def _cluster_rows(clusters, probabilities, K: int, rng) -> list[dict]:
    """For each cluster: a uniform sample of its rows (page indices, in order) and its
    most uncertain rows (the lowest largest probability first), with that probability."""
    largest = probabilities.max(axis=1)
    listed = []
    for k in range(K):
        members = np.flatnonzero(clusters == k)
        size = min(CLUSTER_ROWS, len(members))
        sample = np.sort(rng.choice(members, size=size, replace=False)) if size else members
        uncertain = members[np.argsort(largest[members], kind="stable")[:CLUSTER_ROWS]]
        listed.append(
            {
                "size": len(members),
                "sample": sample.tolist(),
                "uncertain": uncertain.tolist(),
                "uncertain_probability": largest[uncertain].tolist(),
            }
        )
    return listed


def _analyses(folder: Path | None) -> list[dict]:
    """The analyses whose files the run folder holds (:data:`ANALYSES`): title, figure
    (a data URL) and table."""
    found = []
    for stem, title in ANALYSES if folder is not None else ():
        table_path = folder / f"{stem}.csv"
        figures = [folder / f"{stem}.{kind}" for kind in ("png", "svg")]
        figure = next((path for path in figures if path.is_file()), None)
        if not table_path.is_file() and figure is None:
            continue
        entry = {"name": stem, "title": title, "figure": None, "columns": [], "rows": []}
        if figure is not None:
            kind = "image/png" if figure.suffix == ".png" else "image/svg+xml"
            encoded = base64.b64encode(figure.read_bytes()).decode("ascii")
            entry["figure"] = f"data:{kind};base64,{encoded}"
        if table_path.is_file():
            table = list(csv.reader(io.StringIO(table_path.read_text())))
            entry["columns"], entry["rows"] = (table[0], table[1:]) if table else ([], [])
        found.append(entry)
    return found


# ---------------------------------------------------------------------------------- the document


def encode(raw) -> tuple[str, int]:
    """``raw`` deflated (raw DEFLATE, :data:`DEFLATE_LEVEL`) and written in base 85
    (:data:`ALPHABET`): each 4 bytes, big-endian, as 5 digits, most significant first;
    the last group padded with zero bytes. Returns the text and the deflated length
    (which the page keeps, to drop the padding; see :func:`decode`)."""
    deflater = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    packed = deflater.compress(raw) + deflater.flush()
    padded = np.frombuffer(packed + b"\0" * (-len(packed) % 4), dtype=">u4").astype(np.uint64)
    digits = np.empty((len(padded), 5), dtype=np.uint8)
    for place in range(4, -1, -1):
        padded, digits[:, place] = np.divmod(padded, 85)
    text = np.frombuffer(ALPHABET, dtype=np.uint8)[digits].tobytes().decode("ascii")
    return text, len(packed)


def decode(text: str, length: int) -> bytes:
    """The bytes :func:`encode` wrote (the inverse, as the page computes it)."""
    lookup = np.zeros(256, dtype=np.uint64)
    lookup[np.frombuffer(ALPHABET, dtype=np.uint8)] = np.arange(85, dtype=np.uint64)
    digits = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].reshape(-1, 5)
    values = np.zeros(len(digits), dtype=np.uint64)
    for place in range(5):
        values = values * 85 + digits[:, place]
    packed = values.astype(">u4").tobytes()[:length]
    return zlib.decompress(packed, -15)


def _encoded(blobs: dict, ready: dict | None = None) -> tuple[dict, list[tuple[str, int, str]]]:
    """Each blob in parts of at most :data:`PART_BYTES`, deflated side by side (zlib
    releases the GIL): the layouts (bytes, deflated length of each part) and the texts.
    ``ready`` adds blobs already encoded, as ``name: (bytes, parts)``, after the others."""
    pieces = [(name, i, view) for name, raw in blobs.items() for i, view in enumerate(_parts(raw))]
    encoded = _encode_all([view for _, _, view in pieces])
    layouts = {name: {"bytes": len(raw), "parts": []} for name, raw in blobs.items()}
    texts = []
    for (name, i, _), (text, deflated) in zip(pieces, encoded, strict=True):
        layouts[name]["parts"].append(deflated)
        texts.append((name, i, text))
    for name, (size, parts) in (ready or {}).items():
        layouts[name] = {"bytes": size, "parts": [deflated for _, deflated in parts]}
        texts.extend((name, i, text) for i, (text, _) in enumerate(parts))
    return layouts, texts


def _parts(raw) -> list[memoryview]:
    """``raw`` in views of at most :data:`PART_BYTES` (one, empty, for no bytes)."""
    return [memoryview(raw)[start : start + PART_BYTES]  # views: no copies
            for start in range(0, max(len(raw), 1), PART_BYTES)]  # fmt: skip


def _encode_all(views: list) -> list[tuple[str, int]]:
    """:func:`encode` of each view, on as many threads as there are cores."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(encode, views))


def document(packed: PackedRows, summary: dict, folder: Path | None) -> str:
    """The page: the template files around the JSON block (``packed.meta`` with the run's
    ``summary`` and the analyses found in ``folder``) and the blobs."""
    meta = {**packed.meta, "summary": summary, "analyses": _analyses(folder)}
    page = resources.files(__package__) / "page"
    css = (page / "report.css").read_text(encoding="utf-8")
    body = (page / "body.html").read_text(encoding="utf-8")
    script = (page / "report.js").read_text(encoding="utf-8")
    blobs = "".join(
        f'<script type="application/x-pcagmm-base85" id="blob-{name}-{i}">{text}</script>\n'
        for name, i, text in packed.blobs
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>pcagmm report</title>\n"
        f"<style>\n{css}</style>\n</head>\n<body>\n{body}"
        f'<script type="application/json" id="pcagmm-meta">{_script_json(meta)}</script>\n'
        f"{blobs}<script>\n{script}</script>\n</body>\n</html>\n"
    )


def _script_json(value) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` (escaped as
    ``\\u003c`` and so on), non-finite numbers as null."""
    text = json.dumps(json_ready(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def image_encoding() -> dict:
    """The settings the page's encoded images depend on: what keys their cache entries
    (:mod:`~pcagmm.report.image_cache`)."""
    return {
        "levels": IMAGE_LEVELS,
        "deflate": DEFLATE_LEVEL,
        "part_bytes": PART_BYTES,
        "alphabet": ALPHABET.decode("ascii"),
        "format": FORMAT,
    }

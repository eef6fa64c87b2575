"""Assign new rows (a data set, a file, or PNG images) to the clusters of a saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import PcagmmError
from .model_file import load_model


class PredictError(PcagmmError, ValueError):
    """Input that a model cannot be applied to."""


def predict(model_path, inputs, *, label_column=None, progress=None) -> list[dict]:
    """One dict per input row: its cluster, that cluster's probability, all probabilities,
    and the label the cluster was matched to when the model was fitted (or None)."""
    model = load_model(model_path)
    inputs = [str(i) for i in ([inputs] if isinstance(inputs, str | Path) else inputs)]
    X, names = _rows(inputs, model, label_column, progress)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        got = X.shape[1] if X.ndim == 2 else X.shape
        raise PredictError(
            f"the input has {got} features per row but the model was fitted on {model.n_features}",
            "give rows of the same kind of data the model was fitted on",
        )
    proba = model.gmm.predict_proba(model.pca.transform(X))
    clusters = proba.argmax(axis=1)
    rows = []
    for name, k, p in zip(names, clusters, proba, strict=True):
        label = int(model.cluster_to_label[k])
        rows.append(
            {
                "row": name,
                "cluster": int(k),
                "probability": float(p[k]),
                "matched_label": None if label < 0 else label,
                "probabilities": [round(float(v), 6) for v in p],
            }
        )
    return rows


def _rows(inputs: list[str], model, label_column, progress):
    if all(i.lower().endswith(".png") for i in inputs):
        if model.image_shape is None:
            raise PredictError("the model was not fitted on images", "give rows of data instead")
        rows = np.stack([png_row(i, model.image_shape) for i in inputs])
        return rows * (model.pixel_max / 255.0), [Path(i).name for i in inputs]
    if len(inputs) > 1:
        raise PredictError(
            "more than one input that is not a PNG image",
            "give one data set or file, or any number of PNG images",
        )
    from . import datasets

    dataset = datasets.load(inputs[0], label_column=label_column, progress=progress)
    return dataset.X, [str(i) for i in range(dataset.shape[0])]


def png_row(path, image_shape) -> np.ndarray:
    """A PNG image as one row of grey levels 0-255, light strokes on dark like MNIST.

    Colour is averaged to grey, the image is resized to ``image_shape``, and a
    picture with a light background (dark ink on paper) is inverted.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            grey = image.convert("L").resize(image_shape[::-1], Image.Resampling.LANCZOS)
            values = np.asarray(grey, dtype=np.float64)
    except FileNotFoundError:
        raise PredictError(f"{path} does not exist", "check the path") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PredictError(
            f"{path} is not a readable PNG image ({exc})", "give PNG files"
        ) from None
    if values.mean() > 127.5:
        values = 255.0 - values
    return values.reshape(-1)

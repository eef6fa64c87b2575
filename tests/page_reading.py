"""Reading report.html's data back in Python (its JSON block and its blobs), and the small
image data set the page tests run on."""

from __future__ import annotations

import json
import re

import numpy as np

from pcagmm.report import html


def page_meta(text: str) -> dict:
    """The page's JSON block."""
    found = re.search(r'<script type="application/json" id="pcagmm-meta">(.*?)</script>', text)
    return json.loads(found.group(1))


def page_blob(text: str, meta: dict, name: str) -> bytes:
    """A blob's bytes: its parts decoded and joined."""
    parts = []
    for i, deflated in enumerate(meta["blobs"][name]["parts"]):
        pattern = rf'<script type="application/x-pcagmm-base85" id="blob-{name}-{i}">(.*?)<'
        parts.append(html.decode(re.search(pattern, text).group(1), deflated))
    return b"".join(parts)


def image_data(folder, n=600, seed=0):
    """Rows of 8 x 8 grey images in three classes (a blob in a different corner each),
    saved as ``images.npy`` with ``images.labels.npy`` beside it."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = rng.integers(0, 40, size=(n, 8, 8))
    for label, (r, c) in enumerate([(1, 1), (1, 5), (5, 3)]):
        X[y == label, r : r + 3, c : c + 3] += 200
    path = folder / "images.npy"
    np.save(path, X.clip(0, 255).astype(np.uint8))
    np.save(folder / "images.labels.npy", y.astype(np.uint8))
    return path

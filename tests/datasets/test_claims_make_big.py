"""make-big in the user guide (docs/site/guide/data.md): "random shifts (up to 2 pixels),
rotations (up to 10 degrees)", measured on the images ``deform`` makes (issue 17): each
deformation alone (the others set to zero), read back from the picture's centre of mass
and the orientation of its second moments, not from the random numbers drawn."""

from __future__ import annotations

import numpy as np

from pcagmm.datasets import generate
from pcagmm.datasets.generate import deform

SIZE = 28
COUNT = 400


def spot(sigma_y: float, sigma_x: float) -> np.ndarray:
    """COUNT copies of a smooth grey spot (peak 255) at the centre of a 28 x 28 image."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] - (SIZE - 1) / 2
    image = 255 * np.exp(-0.5 * ((ys / sigma_y) ** 2 + (xs / sigma_x) ** 2))
    return np.broadcast_to(np.rint(image).astype(np.uint8), (COUNT, SIZE, SIZE)).copy()


def moments(images: np.ndarray):
    """Centre of mass (y, x) and the orientation (degrees) of each image's mass."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    mass = images.astype(float)
    total = mass.sum(axis=(1, 2))
    cy = (mass * ys).sum(axis=(1, 2)) / total
    cx = (mass * xs).sum(axis=(1, 2)) / total
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]
    mu20 = (mass * dx * dx).sum(axis=(1, 2))
    mu02 = (mass * dy * dy).sum(axis=(1, 2))
    mu11 = (mass * dx * dy).sum(axis=(1, 2))
    angle = np.degrees(0.5 * np.arctan2(2 * mu11, mu20 - mu02))
    return cy, cx, angle


def test_shifts_are_up_to_two_pixels(monkeypatch):
    monkeypatch.setattr(generate, "MAX_ROTATION_DEGREES", 0.0)
    monkeypatch.setattr(generate, "ELASTIC_ALPHA", 0.0)
    images = spot(2.5, 2.5)
    cy, cx, _ = moments(deform(images, np.random.default_rng(0)))
    y0, x0, _ = moments(images[:1])
    moved = np.abs(np.stack([cy - y0, cx - x0]))
    assert moved.max() <= 2.05  # up to 2 pixels in each direction (rounding to grey levels)
    assert np.all(moved.max(axis=1) >= 1.9)  # and the whole range is used


def test_rotations_are_up_to_ten_degrees(monkeypatch):
    monkeypatch.setattr(generate, "MAX_SHIFT", 0.0)
    monkeypatch.setattr(generate, "ELASTIC_ALPHA", 0.0)
    images = spot(1.5, 6.0)  # a bar along x: orientation 0
    _, _, angle = moments(deform(images, np.random.default_rng(1)))
    assert abs(moments(images[:1])[2][0]) < 1e-9
    assert np.abs(angle).max() <= 10.2
    assert angle.min() <= -9.5 and angle.max() >= 9.5

"""report.html of an rgb run (a folder of colour pictures, ``colour="rgb"``) in a real
headless Chromium: the page holds each row's red, green and blue, and draws the hover
image, the cluster's mean and its rows' thumbnails in their own colours, as the
cluster-means figure draws them (grey pictures are drawn reversed, colour ones as they
are). The drawn pixels are read back from the canvases and compared with the rows."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

import pcagmm
from browser import Page, chromium
from page_reading import page_blob, page_meta
from pcagmm.report import html
from pcagmm.workflow.html_report import rebuild

sync_api = pytest.importorskip("playwright.sync_api")

HEIGHT, WIDTH = 5, 7  # not square: a transposed picture would not match
#: each class' ink: a block of one colour in its own corner
CLASSES = {"red": ((230, 30, 20), (0, 0)), "green": ((20, 210, 40), (0, 4)),
           "blue": ((30, 40, 220), (2, 2))}  # fmt: skip


def write_colour_folder(folder, per_class=40, seed=0):
    """PNG files ``folder/<class>/<number>.png`` of noisy dark pictures, a coloured
    block each; every channel differs from the others."""
    rng = np.random.default_rng(seed)
    for name, (colour, (r, c)) in CLASSES.items():
        (folder / name).mkdir(parents=True)
        for number in range(per_class):
            pixels = rng.integers(0, 60, size=(HEIGHT, WIDTH, 3))
            pixels[r : r + 3, c : c + 3] = np.clip(
                np.array(colour) + rng.integers(-20, 20, size=3), 0, 255
            )
            pixels[-1, -1] = (90, 10, 50)  # one pixel whose channels all differ
            Image.fromarray(pixels.astype(np.uint8), "RGB").save(folder / name / f"{number}.png")
    return folder


def drawn(levels: np.ndarray) -> np.ndarray:
    """What the page draws for values 0-255: each as it is, at 16 levels a channel."""
    return 17 * np.rint(np.asarray(levels, float) * 15 / 255)


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def rgb_run(tmp_path_factory):
    folder = write_colour_folder(tmp_path_factory.mktemp("colour") / "pictures")
    out = folder.parent / "run"
    result = pcagmm.run(folder, colour="rgb", clusters=3, out=out, plots=False, report=True)
    return result, out


@pytest.fixture
def page(browser, rgb_run):
    opened = Page(browser, rgb_run[1] / "report.html")
    yield opened
    assert opened.errors == []
    opened.close()


def canvas_rgb(page, selector: str) -> np.ndarray:
    """A canvas' pixels as drawn: (height, width, 3), with its alpha checked opaque."""
    height, width, data = page.evaluate(
        """(selector) => { const c = document.querySelector(selector);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return [c.height, c.width, Array.from(d)]; }""",
        selector,
    )
    rgba = np.array(data).reshape(height, width, 4)
    assert (rgba[..., 3] == 255).all()
    return rgba[..., :3]


def test_the_page_holds_each_rows_red_green_and_blue(rgb_run):
    result, out = rgb_run
    assert result.dataset.rgb_shape == (HEIGHT, WIDTH, 3) and result.dataset.image_shape is None
    text = (out / "report.html").read_text()
    meta = page_meta(text)
    assert meta["image"] == {"height": HEIGHT, "width": WIDTH, "levels": 16, "channels": 3}
    X = np.asarray(result.dataset.X)
    packed = np.frombuffer(page_blob(text, meta, "images"), dtype=np.uint8)
    p = HEIGHT * WIDTH * 3
    levels = np.stack([packed >> 4, packed & 15], axis=1).reshape(len(X), -1)[:, :p]
    np.testing.assert_array_equal(levels, np.rint(X.astype(float) * 15 / 255))
    means = np.array(meta["mixture"]["mean_images"])
    assert means.shape == (3, p)
    np.testing.assert_array_equal(means, np.rint(np.clip(result.cluster_images, 0, 255)))


def test_hovering_a_row_shows_it_in_its_colours(page, rgb_run):
    result, _ = rgb_run
    positions = np.array(
        page.evaluate(
            "[...Array(pcagmmReport.meta.rows_shown).keys()].map(pcagmmReport.screenOfRow)"
        )
    )
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(positions).query(positions, k=2)
    rows = np.flatnonzero(distance[:, 1] > 2.0).tolist()  # no other row within 2 pixels
    assert len(rows) >= 3
    X = np.asarray(result.dataset.X)
    for row in rows[:3]:
        page.page.mouse.move(*positions[row])
        assert page.page.inner_text("#row-title") == f"Row {row}"
        image = canvas_rgb(page, "#row-image")
        np.testing.assert_array_equal(image, drawn(X[row]).reshape(HEIGHT, WIDTH, 3))
        # its colours: the last pixel's channels all differ
        assert image[-1, -1].tolist() == drawn([90, 10, 50]).tolist()


def test_a_clusters_mean_and_thumbnails_are_in_colour(page, rgb_run):
    result, _ = rgb_run
    X = np.asarray(result.dataset.X)
    for k in range(3):
        page.evaluate(f"pcagmmReport.showCluster({k})")
        mean = canvas_rgb(page, "#cluster-mean canvas")
        expected = np.rint(np.clip(result.cluster_images[k], 0, 255))
        np.testing.assert_array_equal(mean, expected.reshape(HEIGHT, WIDTH, 3))
        rows = page.page.locator("#cluster-sample .thumb").evaluate_all(
            "nodes => nodes.map(n => Number(n.dataset.row))"
        )
        assert rows and set(rows) <= set(np.flatnonzero(result.clusters == k).tolist())
        first = canvas_rgb(page, "#cluster-sample .thumb canvas")
        np.testing.assert_array_equal(first, drawn(X[rows[0]]).reshape(HEIGHT, WIDTH, 3))


def test_a_rebuilt_page_shows_the_same_colours(rgb_run):
    _result, out = rgb_run
    target = out.parent / "rebuilt"
    shutil.copytree(out, target)
    (target / "report.html").unlink()
    rebuild(target)
    own, again = (out / "report.html").read_text(), (target / "report.html").read_text()
    a, b = page_meta(own), page_meta(again)
    assert a["image"] == b["image"] and a["mixture"] == b["mixture"]
    assert page_blob(own, a, "images") == page_blob(again, b, "images")
    assert html.IMAGE_LEVELS == 16  # what drawn() assumes

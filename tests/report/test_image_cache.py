"""A page's images kept in the cache folder (:mod:`pcagmm.report.image_cache`).

A second page of the same rows reads the encoded images back (shown by planting other
images in the entry) and shows what the first showed; a damaged entry is ignored and
written again; whatever the images depend on names another entry; a cache folder that
cannot be written still gives the page. The images are compared with the data's grey
levels packed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import pcagmm
from page_reading import image_data, page_blob, page_meta
from pcagmm.datasets.cache import cache_root
from pcagmm.report import html, image_cache


def page(path, out, **options) -> str:
    pcagmm.run(str(path), out=str(out), clusters=3, plots=False, report=True, **options)
    return (out / "report.html").read_text()


def shown_images(text: str) -> bytes:
    return page_blob(text, page_meta(text), "images")


def by_hand(path) -> bytes:
    """Each row's 64 pixels at 16 grey levels of the data's largest value, two to a byte."""
    X = np.load(path).reshape(-1, 64).astype(float)
    levels = np.clip(np.rint(X * 15 / X.max()), 0, 15).astype(np.uint8)
    return ((levels[:, 0::2] << 4) | levels[:, 1::2]).tobytes()


def entries():
    return sorted((cache_root() / image_cache.FOLDER).glob("*.npz"))


def test_a_second_page_of_the_same_rows_reads_the_images_back(tmp_path):
    path = image_data(tmp_path)
    first = page(path, tmp_path / "first")
    assert shown_images(first) == by_hand(path)
    [entry] = entries()
    written = entry.stat().st_mtime_ns
    second = page(path, tmp_path / "second", seed=7)  # another run of the same rows
    assert shown_images(second) == by_hand(path)
    assert entries() == [entry] and entry.stat().st_mtime_ns == written  # read, not rewritten

    # Other images planted in the entry are what the next page shows: it reads the entry.
    blank = bytes(len(by_hand(path)))
    image_cache.write_entry(entry, html._encode_all(html._parts(blank)))
    assert shown_images(page(path, tmp_path / "third")) == blank


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2]),
        lambda entry: entry.write_bytes(b"not a cache entry"),
        lambda entry: np.savez(  # readable, but its text no longer matches its digest
            entry, **{**dict(np.load(entry)), "text": np.frombuffer(b"0" * 40, np.uint8)}
        ),
    ],
    ids=["cut", "garbage", "digest"],
)
def test_a_damaged_entry_is_ignored_and_written_again(tmp_path, damage):
    path = image_data(tmp_path)
    page(path, tmp_path / "first")
    [entry] = entries()
    damage(entry)
    assert image_cache.read_entry(entry) is None
    assert shown_images(page(path, tmp_path / "second")) == by_hand(path)
    assert image_cache.read_entry(entry) is not None  # whole again


def test_whatever_the_images_depend_on_names_another_entry(tmp_path):
    shown = np.arange(100)
    encoding = html.image_encoding()

    def entry(content_id, rows, white, settings=encoding):
        return image_cache.entry_path(content_id, rows, white, tmp_path, settings)

    same = entry("abc", shown, 255.0)
    assert entry("abc", np.arange(100), 255.0) == same
    assert entry("abd", shown, 255.0) != same  # other data
    assert entry("abc", shown[1:], 255.0) != same  # other rows
    assert entry("abc", shown, 16.0) != same  # another white
    assert entry("abc", shown, 255.0, {**encoding, "deflate": 9}) != same  # another encoding


def test_a_cache_folder_that_cannot_be_written_still_gives_the_page(tmp_path):
    path = image_data(tmp_path)
    cache_root().mkdir(parents=True, exist_ok=True)
    (cache_root() / image_cache.FOLDER).write_text("a file where the folder would be")
    assert shown_images(page(path, tmp_path / "run")) == by_hand(path)


def test_images_without_a_digest_are_encoded_and_not_kept(tmp_path):
    calls = []
    parts = image_cache.encoded_images(
        None, np.arange(3), 255.0, lambda: calls.append(1) or [], html.image_encoding()
    )
    assert parts == [] and calls == [1]
    assert not (cache_root() / image_cache.FOLDER).exists()

"""RELIABILITY.md: negative or > 255 values in a CSV are read as float64; only whole
numbers 0-255 become uint8 (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from pcagmm.datasets.formats import read_csv


@pytest.mark.parametrize(
    ("text", "dtype"),
    [
        ("1,2\n3,255\n", np.uint8),
        ("1,2\n3,256\n", np.float64),
        ("1,-2\n3,4\n", np.float64),
        ("1,2.5\n3,4\n", np.float64),
    ],
)
def test_only_whole_numbers_0_to_255_become_uint8(text, dtype, tmp_path):
    (tmp_path / "d.csv").write_text(text)
    X, _ = read_csv(tmp_path / "d.csv")
    assert X.dtype == dtype
    np.testing.assert_array_equal(X, np.loadtxt(tmp_path / "d.csv", delimiter=","))

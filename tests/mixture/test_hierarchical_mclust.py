"""The hierarchical start (:mod:`pcagmm.mixture.hierarchical`) against R's mclust 6.0.0.

One R run (module fixture) agglomerates every data set below with mclust's default for
``Mclust``, ``hc(X, modelName = "VVV", use = "SVD")`` (``"VARS"``: the rows as they
are, where noted), and returns its merges, ``hclass(tree, 1:9)``, the coordinates it
agglomerated (``attr(tree, "data")``) and the costs of its merges, which ``hcVVV``
computes but drops: the fixture repeats ``hcVVV``'s own call of the Fortran ``hcvvv``
to read them.

Compared exactly: the merges of :func:`hierarchical_tree` on the same rows;
``hclass``'s classes at G = 1..9 with :meth:`HierarchicalTree.labels` (R's 1-based
classes less one); and, on R's own coordinates, the merges and their costs bit for
bit, which checks the arithmetic (ties included) apart from the SVD, whose coordinates
are compared to rounding (LAPACK's and NumPy's SVDs differ in the last bits). The data
sets: three blobs (d = 2), unequal spreads (d = 3), duplicated rows, one feature, a
lattice with many duplicates (exact ties everywhere: ``"VARS"``, so that R and we
agglomerate the same numbers), identical rows (``"VARS"``: R's SVD of them fails), and
2,000 rows of MNIST's first two principal components.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mclust_r import run_mclust
from pcagmm.mixture import hierarchical
from pcagmm.mixture.hierarchical import hierarchical_tree, scaled_svd


def _data_sets():
    """name -> (rows, mclust's ``use``)."""
    rng = np.random.RandomState(20)
    blobs = np.concatenate(
        [rng.normal(size=(20, 2)) * 0.8 + centre for centre in ([0, 0], [4, 0], [0, 4])]
    )
    spreads = np.concatenate(
        [
            rng.normal(size=(50, 3)) * scale + shift
            for scale, shift in ((0.3, 0.0), (1.0, 3.0), (2.5, -3.0))
        ]
    )
    base = rng.normal(size=(45, 2)) * [3.0, 1.0]
    duplicated = base[rng.permutation(np.concatenate([np.arange(45), rng.randint(0, 45, 25)]))]
    line = rng.normal(size=(50, 1)) * np.repeat([1.0, 0.2], 25)[:, np.newaxis]
    lattice = rng.randint(0, 5, size=(80, 2)).astype(float)
    identical = np.full((12, 2), 3.0)
    return {
        "blobs": (blobs, "SVD"),
        "spreads": (spreads, "SVD"),
        "duplicated": (duplicated, "SVD"),
        "line": (line, "SVD"),
        "lattice": (lattice, "VARS"),
        "identical": (identical, "VARS"),
    }


DATA_SETS = _data_sets()

_R_HC = r"""
agglomerate <- function(name, use) {
  X <- get(paste0("X_", name))
  tree <- hc(X, modelName = "VVV", use = use)
  out(paste0("pairs_", name), t(unclass(tree)))
  out(paste0("classes_", name), hclass(tree, 1:min(9, nrow(X))))
  # hcVVV's call of the Fortran hcvvv, for the costs that hcVVV drops
  Z <- attr(tree, "data")
  n <- nrow(Z); p <- ncol(Z); m <- n - 1
  alpha <- max(mclust:::traceW(Z / sqrt(n * p)), .Machine$double.eps)
  ld <- max(n, (n * (n - 1)) / 2 + 1, 3 * m)
  fortran <- .Fortran("hcvvv", cbind(Z, 0), as.integer(n), as.integer(p),
                      as.integer(1:n), as.integer(n), as.integer(m), as.double(alpha),
                      as.double(1), double(p), double(p * p), double(p * p),
                      double(p * p), as.integer(ld), double(ld), PACKAGE = "mclust")
  out(paste0("Z_", name), Z)
  out(paste0("alpha_", name), alpha)
  out(paste0("costs_", name), fortran[[14]][1:m])
}
"""


def _r_code(uses):
    calls = "\n".join(f'agglomerate("{name}", "{use}")' for name, use in uses.items())
    return _R_HC + calls + "\n"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """R's results by name, from one run."""
    arrays = {f"X_{name}": X for name, (X, _) in DATA_SETS.items()}
    uses = {name: use for name, (_, use) in DATA_SETS.items()}
    return run_mclust(_r_code(uses), tmp_path_factory.mktemp("hc"), **arrays)


def _ours(X, use):
    return hierarchical_tree(X, None, transform="svd" if use == "SVD" else None)


def _check_merges_and_classes(tree, pairs, classes):
    np.testing.assert_array_equal(tree.merges, pairs.astype(np.intp) - 1)
    for G in range(1, classes.shape[1] + 1):
        np.testing.assert_array_equal(tree.labels(G), classes[:, G - 1].astype(np.intp) - 1)


@pytest.mark.parametrize("name", list(DATA_SETS))
def test_the_merges_and_classes_are_hcs(reference, name):
    """hierarchical_tree's merges are hc's, pair for pair, and its cuts hclass's."""
    X, use = DATA_SETS[name]
    _check_merges_and_classes(
        _ours(X, use), reference[f"pairs_{name}"], reference[f"classes_{name}"]
    )


@pytest.mark.parametrize("name", list(DATA_SETS))
def test_on_mclusts_coordinates_every_cost_is_bit_for_bit(reference, name):
    """On the coordinates hc agglomerated: the same ridge ``alpha`` and the same costs
    of the same merges, exactly."""
    Z = reference[f"Z_{name}"]
    state = hierarchical._Agglomeration(Z, 1.0, 1.0)
    assert state.alpha == reference[f"alpha_{name}"][0]
    merges = state.run(len(Z) - 1)
    np.testing.assert_array_equal(merges, reference[f"pairs_{name}"].astype(np.intp) - 1)
    np.testing.assert_array_equal(state.merge_costs, reference[f"costs_{name}"])


@pytest.mark.parametrize("name", [n for n, (_, use) in DATA_SETS.items() if use == "SVD"])
def test_scaled_svd_is_hcs_but_for_signs(reference, name):
    """scaled_svd gives hc's coordinates to rounding, but for the signs of the singular
    vectors (which LAPACK chooses)."""
    X, _ = DATA_SETS[name]
    ours, theirs = scaled_svd(X), reference[f"Z_{name}"]
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours * signs, theirs, rtol=0, atol=1e-12 * np.abs(theirs).max())


def _mnist_pcs(folder, rows=2000):
    """The first two principal components of MNIST's first ``rows`` training images."""
    raw = gzip.decompress((folder / "train-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw[16:], np.uint8).reshape(-1, 784)[:rows].astype(np.float64)
    centred = images - images.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def test_mnist_2000_rows_are_hcs(shared_mnist, tmp_path):
    """2,000 rows of MNIST in two principal components, mclust's subset size: hc's
    merges and hclass's classes at G = 1..9."""
    X = _mnist_pcs(shared_mnist)
    results = run_mclust(
        'tree <- hc(X, modelName = "VVV", use = "SVD")\n'
        "out('pairs', t(unclass(tree)))\n"
        "out('classes', hclass(tree, 1:9))\n",
        tmp_path,
        X=X,
    )
    tree = hierarchical_tree(X, np.random.RandomState(0))
    assert tree.n_rows == 2000
    _check_merges_and_classes(tree, results["pairs"], results["classes"])

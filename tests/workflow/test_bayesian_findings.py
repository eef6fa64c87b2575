"""The findings of the variational mixture on MNIST PCA-2 that the user guide gives
(docs/site/guide/bayesian.md; the README's until issue 29) (slow: MNIST, and fits to
convergence of 1,400-2,200 SQUAREM passes).

The counts are of components with weight >= 0.01. They are far from the threshold: the
converged fits' switched-off components hold less than 0.001 of the weight together and
the smallest kept one more than 0.01, so another processor's rounding does not move them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from pcagmm import PCA, datasets
from pcagmm.workflow import stages
from pcagmm.workflow.config import RunConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist_pca2(shared_mnist, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PCAGMM_CACHE", str(tmp_path_factory.mktemp("cache")))
        X = datasets.load("mnist", folder=shared_mnist).X
    return PCA(2).fit_transform(X)


def fitted(Z, converged: bool, **options):
    gmm = stages.mixture(RunConfig(mixture="bayesian", **options), converged=converged)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmm.fit(Z)


def test_scikit_learns_defaults_stop_before_any_component_is_switched_off(mnist_pca2):
    gmm = fitted(mnist_pca2, False, clusters=30)
    assert not gmm.converged_ and gmm.n_iter_ == 100
    assert len(gmm.kept(0.01)) == 30 and gmm.weights_.min() > 0.014


@pytest.mark.parametrize(
    ("options", "kept"),
    [
        ({"clusters": 30}, 17),
        ({"clusters": 30, "weight_prior": "dirichlet_distribution"}, 16),
        ({"clusters": 50}, 17),
    ],
)
def test_converged_fits_keep_sixteen_or_seventeen(mnist_pca2, options, kept):
    gmm = fitted(mnist_pca2, True, **options)
    assert gmm.converged_
    weights = np.sort(gmm.weights_)[::-1]
    assert len(gmm.kept(0.01)) == kept
    assert weights[kept - 1] > 0.01 and weights[kept:].sum() < 1e-3

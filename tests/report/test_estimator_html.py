"""The estimators keep scikit-learn's notebook view (issue 29): pcagmm gives HTML views
to what a run and the studies produce (tests/report/test_notebook_html.py), never to
an estimator, which a scikit-learn user expects to show as scikit-learn shows it."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import estimator_html_repr

import pcagmm

ESTIMATORS = ("PCA", "GaussianMixture", "BayesianGaussianMixture", "GaussianMixtureSelection")


def numbered_ids_alike(text: str) -> str:
    """scikit-learn numbers each view's element ids (``sk-container-id-7``) from a counter."""
    return re.sub(r"(sk-[a-z-]*id-)\d+", r"\1N", text)


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("fitted", [False, True])
def test_an_estimators_notebook_view_is_scikit_learns(name, fitted):
    estimator = getattr(pcagmm, name)()
    if fitted:
        X = np.random.default_rng(0).normal(size=(60, 3)) + np.repeat([[0], [6]], 30, axis=0)
        if name == "GaussianMixtureSelection":
            estimator.set_params(n_components=[1, 2], covariance_types=["full"])
        estimator.fit(X)
    for method in ("_repr_html_", "_repr_mimebundle_"):  # inherited, never overridden
        assert inspect.getattr_static(type(estimator), method) is inspect.getattr_static(
            BaseEstimator, method
        )
    shown = estimator._repr_html_()
    assert numbered_ids_alike(shown) == numbered_ids_alike(estimator_html_repr(estimator))
    assert 'class="sk-container"' in shown and name in shown  # scikit-learn's markers
    assert "pcagmm-view" not in shown
    bundle = estimator._repr_mimebundle_()
    assert numbered_ids_alike(bundle["text/html"]) == numbered_ids_alike(shown)

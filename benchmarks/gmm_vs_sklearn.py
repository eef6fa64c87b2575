"""GaussianMixture against scikit-learn's on MNIST projected to 2 and 50 dimensions.

Usage: python benchmarks/gmm_vs_sklearn.py [--repeats 5] [--dims 2 50]

K = 10, full covariance, random_state = 42, both started by scikit-learn's k-means.
Prints, per projection, the median time of the whole fit and of the EM part (the
whole fit minus a fit with max_iter=0, which is the k-means start alone), ours and
scikit-learn's at its best thread count (1 or 2, measured in this run), and ratios.
Also checks that both reached the same model.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _common import best_threads, median_time, mnist_X


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 50])
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from sklearn.mixture import GaussianMixture as SklearnGMM

    from pcagmm import PCA, GaussianMixture

    X = mnist_X()
    for d in args.dims:
        Z = PCA(d).fit_transform(X)
        params = dict(n_components=10, covariance_type="full", random_state=42)

        def ours(max_iter=100, Z=Z, params=params):
            return GaussianMixture(max_iter=max_iter, **params).fit(Z)

        def theirs(max_iter=100, Z=Z, params=params):
            return SklearnGMM(max_iter=max_iter, **params).fit(Z)

        ours_fit, ours_model = median_time(ours, args.repeats)
        ours_init, _ = median_time(lambda: ours(0), args.repeats)
        theirs_fit, threads = best_threads(theirs, args.repeats)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            theirs_init, _ = median_time(lambda: theirs(0), args.repeats)
            reference = theirs()
        agree = np.max(np.abs(ours_model.means_ - reference.means_)) / np.max(
            np.abs(reference.means_)
        )
        ours_em, theirs_em = ours_fit - ours_init, theirs_fit - theirs_init
        print(
            f"MNIST-PCA-{d}, K=10, full: n_iter {ours_model.n_iter_} (scikit-learn "
            f"{reference.n_iter_}), means agree to {agree:.1e} relative"
        )
        print(
            f"  whole fit  pcagmm {ours_fit:7.3f} s   scikit-learn {theirs_fit:7.3f} s "
            f"({threads} thread{'s' if threads > 1 else ''})   ratio {theirs_fit / ours_fit:5.1f}x"
        )
        print(
            f"  EM part    pcagmm {ours_em:7.3f} s   scikit-learn {theirs_em:7.3f} s"
            f"               ratio {theirs_em / ours_em:5.1f}x"
        )


if __name__ == "__main__":
    main()

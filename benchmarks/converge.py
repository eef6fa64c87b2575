"""EM to convergence: plain EM, SQUAREM (pcagmm) and scikit-learn on MNIST-PCA, K=10 full.

Usage: python benchmarks/converge.py [--dims 2 50] [--repeats 1] [--tol 1e-8]
       [--plain-cap 20000] [--plain-reference-dims 2]

MNIST is projected once with pcagmm.PCA(50) (not timed); the 2-dimensional data is its
first two columns. Every model is ``GaussianMixture(10, covariance_type="full",
random_state=42)``, pcagmm's or scikit-learn's: the same k-means start. Wall times
include the k-means start; they are the median of ``--repeats`` runs. pcagmm runs with
its default threads; scikit-learn is timed with 1 and with 2 BLAS/OpenMP threads
(threadpoolctl) and the faster counts ("at its best").

Part A, to the stopping rule: pcagmm plain EM and SQUAREM (``acceleration="squarem"``)
with ``stopping="relative", tol=--tol (1e-8), max_iter=100000``; their passes
(``n_iter_``), wall seconds, final mean log-likelihood (``lower_bound_``) and
SQUAREM's extrapolations taken/dropped.

Part B, to the same log-likelihood. Untimed reference runs record the mean
log-likelihood of every pass (``convergence.iterate`` is wrapped to pass ``on_pass``;
SQUAREM's ``lower_bounds_`` only holds its iterates): SQUAREM with ``stopping="relative",
tol=1e-13``, and, for the dims in ``--plain-reference-dims`` (default 2), plain EM with
the same rule capped at ``--plain-cap`` passes. L* is the best bound any of them saw;
the target is ``L* - 1e-9 |L*|``. For the other dims (PCA-50: plain EM to 1e-13 would
take too long) L* is SQUAREM's alone, and plain EM runs until it first reaches the
target (or the cap). P_plain and P_squarem are the passes each needs to first reach
the target. Then timed, each checked to end at or above the target:

* pcagmm plain EM: ``tol=0, stopping="absolute", max_iter=P_plain`` (never stops on
  the rule, so exactly P_plain passes);
* pcagmm SQUAREM: the same with ``max_iter=P_squarem``, raised by up to one cycle (3
  passes) until the model it *returns* reaches the target (the pass that first reaches
  it may be an extrapolated point whose check is still pending at the cut);
* scikit-learn: ``tol=t*, max_iter=P_sk`` where t* is the tol that stops its rule
  (``|change| < tol`` of the mean log-likelihood) at the first pass P_sk >= P_plain
  whose |change| is below every earlier one, read off pcagmm's plain trace (the two
  EMs agree to ~1e-13): t* is the geometric mean of |change| at P_sk and the smallest
  earlier |change|. Its ``converged_`` and ``n_iter_`` show whether t* stopped it there.

If plain EM does not reach the target within ``--plain-cap`` = N passes, it is not
rerun: its row gives the recording run's N passes and seconds, and the ratios are lower
bounds ("did not reach in N passes"). scikit-learn is then not run for N passes: its
time is estimated as its time for ``max_iter=1`` (the start and one pass) plus N - 1
times its time a pass, measured on 200 passes (``tol=0``): a lower bound on its time to
the target, as it would need more than N passes.

Prints, per projection: both parts' tables (method, passes, wall s, final mean
log-likelihood, gap to L* relative), the ratios passes plain / SQUAREM (target >= 5)
and wall scikit-learn / SQUAREM (target >= 50) and wall plain / SQUAREM to the
target, whether the targets are met; then a summary block to paste into BENCHMARKS.md.

Runtime: ``--dims 2`` took 15 minutes on 2 shared cores, most of it scikit-learn's
~2,700 passes at 1 and at 2 threads. PCA-50 costs ~0.2 s a pass for pcagmm and ~0.5 s
for scikit-learn, so every thousand passes plain EM needs costs about 25 minutes
(recorded, timed, and scikit-learn twice).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import median_time, mnist_X

SEED = 42
K = 10
#: the reference runs' stopping rule, and how close to L* counts as "the same optimum"
REFERENCE_TOL = 1e-13
SAME_LL = 1e-9
#: the issue's targets
PASS_TARGET = 5.0
WALL_TARGET = 50.0
#: passes timed to estimate scikit-learn's time when plain EM never reaches the target
SKLEARN_SAMPLE_PASSES = 200


class _Reached(Exception):
    """Raised from ``on_pass`` to end a recording run once it reaches its target."""


#: passes in one SQUAREM cycle (two EM passes and the stabilising one)
SQUAREM_CYCLE = 3


def ours(Z, **params):
    from pcagmm import GaussianMixture

    return GaussianMixture(K, covariance_type="full", random_state=SEED, **params).fit(Z)


def sklearn_gmm(Z, **params):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(K, covariance_type="full", random_state=SEED, **params).fit(Z)


def recorded(Z, stop_at=None, extra=100, **params) -> tuple[np.ndarray, float]:
    """The mean log-likelihood of every EM pass of ``ours(Z, **params)`` (untimed); with
    ``stop_at``, ended ``extra`` passes after the first at or above it (the passes after
    it place scikit-learn's tol), and the run's wall seconds."""
    from pcagmm.mixture import convergence

    bounds: list[float] = []
    reached = []
    original = convergence.iterate

    def record(passes, bound):
        bounds.append(bound)
        if stop_at is not None and bound >= stop_at and not reached:
            reached.append(passes)
        if reached and passes >= reached[0] + extra:
            raise _Reached

    def iterate(*args, on_pass=None, **kwargs):
        return original(*args, on_pass=record, **kwargs)

    convergence.iterate = iterate
    started = time.perf_counter()
    try:
        ours(Z, **params)
    except _Reached:
        pass
    finally:
        convergence.iterate = original
    return np.array(bounds), time.perf_counter() - started


def first_reach(bounds: np.ndarray, target: float) -> int | None:
    """The first pass (1-based) whose bound is at or above ``target``, or None."""
    hits = np.flatnonzero(bounds >= target)
    return int(hits[0]) + 1 if hits.size else None


def sklearn_tol(bounds: np.ndarray, passes: int) -> tuple[float, int, float]:
    """The tol that stops scikit-learn's ``|change| < tol`` rule at the first pass
    ``>= passes`` whose |change| is below all earlier ones: (tol, that pass, the ratio
    of the smallest earlier |change| to its |change|, the margin either side of tol)."""
    changes = np.abs(np.diff(bounds))  # changes[i]: the change at pass i + 2
    earlier_min = np.minimum.accumulate(changes)
    for i in range(max(passes - 2, 1), len(changes)):
        previous = earlier_min[i - 1]
        if changes[i] < previous:
            tol = float(np.sqrt(changes[i] * previous)) if changes[i] > 0 else previous / 2
            return tol, i + 2, previous / max(changes[i], np.finfo(float).tiny)
    raise ValueError("no pass at or after the target stops scikit-learn's rule")


def timed_sklearn(Z, repeats: int, **params) -> dict:
    """scikit-learn at its best: the faster of 1 and 2 BLAS/OpenMP threads."""
    from threadpoolctl import threadpool_limits

    runs = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            runs[threads] = median_time(lambda: sklearn_gmm(Z, **params), repeats)
    best = min(runs, key=lambda threads: runs[threads][0])
    return dict(time=runs[best][0], gmm=runs[best][1], threads=best, times=runs)


def gap(bound: float, best: float) -> float:
    return (best - bound) / abs(best)


def row(name, passes, seconds, bound, best, note=""):
    return (
        f"  {name:<34} {passes:>8} {seconds:9.2f} {bound:20.12f} {gap(bound, best):11.2e}  {note}"
    )


def run(d: int, Z: np.ndarray, args) -> dict:
    print(f"\nMNIST-PCA-{d}, K = {K}, full covariance, random_state = {SEED}")
    header = f"  {'method':<34} {'passes':>8} {'wall s':>9} {'final mean ll':>20} {'gap to L*':>11}"

    # -- untimed references: every pass's bound; L*, the target, passes to reach it
    started = time.perf_counter()
    squarem_trace, _ = recorded(
        Z,
        stopping="relative",
        tol=REFERENCE_TOL,
        max_iter=100000,
        acceleration="squarem",
    )
    best = float(squarem_trace.max())
    plain_reference = d in args.plain_reference_dims
    if plain_reference:
        plain_trace, plain_seconds = recorded(
            Z, stopping="relative", tol=REFERENCE_TOL, max_iter=args.plain_cap
        )
        best = max(best, float(plain_trace.max()))
        target = best - SAME_LL * abs(best)
    else:
        target = best - SAME_LL * abs(best)
        plain_trace, plain_seconds = recorded(
            Z, stop_at=target, stopping="absolute", tol=0.0, max_iter=args.plain_cap
        )
    p_squarem = first_reach(squarem_trace, target)
    p_plain = first_reach(plain_trace, target)
    reference_seconds = time.perf_counter() - started
    source = "SQUAREM and plain EM" if plain_reference else "SQUAREM alone"
    print(
        f"  references (untimed, {reference_seconds:.1f} s): SQUAREM to rel. {REFERENCE_TOL:g} "
        f"in {len(squarem_trace)} passes, best {squarem_trace.max():.12f}; plain EM "
        + (
            f"to rel. {REFERENCE_TOL:g} in {len(plain_trace)} passes (cap {args.plain_cap}), "
            f"best {plain_trace.max():.12f}"
            if plain_reference
            else f"until the target (cap {args.plain_cap}): {len(plain_trace)} passes"
        )
    )
    print(f"  L* = {best:.12f} (from {source}); target L* - {SAME_LL:g}|L*| = {target:.12f}")
    print(
        "  passes to first reach the target: plain EM "
        + (str(p_plain) if p_plain is not None else f"not in {len(plain_trace)}")
        + f", SQUAREM {p_squarem}"
    )

    # -- Part A: to the stopping rule
    rule = dict(stopping="relative", tol=args.tol, max_iter=100000)
    plain_a_time, plain_a = median_time(lambda: ours(Z, **rule), args.repeats)
    squarem_a_time, squarem_a = median_time(
        lambda: ours(Z, acceleration="squarem", **rule), args.repeats
    )
    print(f"\n  Part A: to the stopping rule (relative, tol={args.tol:g})")
    print(header)
    print(row("pcagmm plain EM", plain_a.n_iter_, plain_a_time, plain_a.lower_bound_, best))
    print(
        row(
            "pcagmm SQUAREM",
            squarem_a.n_iter_,
            squarem_a_time,
            squarem_a.lower_bound_,
            best,
            f"extrapolations taken/dropped {squarem_a.extrapolations_[0]}/"
            f"{squarem_a.extrapolations_[1]}",
        )
    )
    print(
        f"  passes plain / SQUAREM {plain_a.n_iter_ / squarem_a.n_iter_:.2f}x, "
        f"wall plain / SQUAREM {plain_a_time / squarem_a_time:.2f}x"
    )

    # -- Part B: to the same log-likelihood
    print(f"\n  Part B: to the same log-likelihood (>= L* - {SAME_LL:g}|L*|)")
    if p_squarem is None:
        print("  SQUAREM never reached the target (plain EM found a better optimum): no Part B")
        return dict(d=d, best=best, squarem=None)
    fixed = dict(stopping="absolute", tol=0.0)
    # the pass that first reaches the target may be an extrapolated point whose check is
    # still pending when max_iter cuts the cycle: the model returned is then the EM point
    # before it. Time the fewest passes whose *returned* model reaches the target.
    for extra in range(SQUAREM_CYCLE + 1):
        if (
            ours(Z, acceleration="squarem", max_iter=p_squarem + extra, **fixed).lower_bound_
            >= target
        ):
            p_squarem += extra
            break
    squarem_time, squarem_b = median_time(
        lambda: ours(Z, acceleration="squarem", max_iter=p_squarem, **fixed), args.repeats
    )
    plain_passes = p_plain if p_plain is not None else len(plain_trace)
    if p_plain is not None:
        plain_time, plain_b = median_time(
            lambda: ours(Z, max_iter=plain_passes, **fixed), args.repeats
        )
    else:  # not rerun: the recording run's passes and seconds (all below the target)
        if len(plain_trace) < args.plain_cap:
            print(f"  plain EM stopped by its rule after {len(plain_trace)} passes, below target")
        plain_time = plain_seconds
        plain_b = argparse.Namespace(n_iter_=len(plain_trace), lower_bound_=plain_trace[-1])
    p_plain_tol = None  # P_plain, where a scikit-learn tol stops near it
    if p_plain is not None:
        try:
            tol_star, p_sklearn, margin = sklearn_tol(plain_trace, p_plain)
            p_plain_tol = p_plain
        except ValueError:  # no record-low |change| in the trace after P_plain
            pass
    if p_plain_tol is not None:
        sk = timed_sklearn(Z, args.repeats, tol=tol_star, max_iter=p_sklearn)
        sk_note = (
            f"tol={tol_star:.3e} (x/÷ {np.sqrt(margin):.6f} from the |changes| either side), "
            f"{'stopped by tol' if sk['gmm'].converged_ else 'NOT stopped by tol'}"
        )
    elif p_plain is not None:
        tol_star = p_sklearn = None
        sk = timed_sklearn(Z, args.repeats, tol=0.0, max_iter=plain_passes)
        sk_note = "tol=0, max_iter=P_plain (no tol stops it near P_plain)"
    else:  # more than plain_passes needed: its start + one pass, + per-pass time from a sample
        tol_star = p_sklearn = None
        sample = min(plain_passes, SKLEARN_SAMPLE_PASSES)
        start = timed_sklearn(Z, args.repeats, tol=0.0, max_iter=1)
        sk = timed_sklearn(Z, args.repeats, tol=0.0, max_iter=sample)
        per_pass = (sk["time"] - start["time"]) / max(sample - 1, 1)
        sk["time"] = start["time"] + (plain_passes - 1) * per_pass
        sk["gmm"] = argparse.Namespace(n_iter_=plain_passes, lower_bound_=plain_trace[-1])
        sk_note = (
            f"estimated: start + 1 pass {start['time']:.2f} s, {per_pass * 1e3:.1f} ms a pass "
            f"(from {sample} passes); final ll is plain EM's"
        )
    sk_note += (
        f", {sk['threads']} thread(s) (1: {sk['times'][1][0]:.2f} s, 2: {sk['times'][2][0]:.2f} s"
        + (")" if p_plain is not None else f" for {sample} passes)")
    )

    print(header)
    plain_name = "pcagmm plain EM" if p_plain is not None else "pcagmm plain EM (did not reach)"
    print(row(plain_name, plain_b.n_iter_, plain_time, plain_b.lower_bound_, best))
    print(
        row(
            "pcagmm SQUAREM",
            squarem_b.n_iter_,
            squarem_time,
            squarem_b.lower_bound_,
            best,
            f"extrapolations taken/dropped {squarem_b.extrapolations_[0]}/"
            f"{squarem_b.extrapolations_[1]}",
        )
    )
    print(row("scikit-learn", sk["gmm"].n_iter_, sk["time"], sk["gmm"].lower_bound_, best, sk_note))

    checks = {"pcagmm SQUAREM": squarem_b.lower_bound_}
    if p_plain is not None:
        checks.update(
            {"pcagmm plain EM": plain_b.lower_bound_, "scikit-learn": sk["gmm"].lower_bound_}
        )
    for name, bound in checks.items():
        if not bound >= target:
            print(f"  ! {name} ended at {bound:.12f}, below the target {target:.12f}")
    if p_plain_tol is not None and p_sklearn != p_plain:
        print(
            f"  note: no scikit-learn tol stops it at pass {p_plain} (|change| not yet a "
            f"record low there); the first tol-stoppable pass is {p_sklearn}"
        )
    if p_plain_tol is not None and sk["gmm"].n_iter_ != p_sklearn:
        print(f"  ! scikit-learn stopped after {sk['gmm'].n_iter_} passes, not {p_sklearn}")

    bound_word = "" if p_plain is not None else ">= "
    pass_ratio = plain_passes / p_squarem
    wall_ratio = sk["time"] / squarem_time
    plain_wall_ratio = plain_time / squarem_time
    print(
        f"  passes plain / SQUAREM {bound_word}{pass_ratio:.2f}x (target >= {PASS_TARGET:g}: "
        f"{'met' if pass_ratio >= PASS_TARGET else 'NOT met'}"
        + ("" if p_plain is not None else f"; plain did not reach in {plain_passes} passes")
        + ")"
    )
    print(
        f"  wall scikit-learn / SQUAREM {bound_word}{wall_ratio:.2f}x (target >= "
        f"{WALL_TARGET:g}: {'met' if wall_ratio >= WALL_TARGET else 'NOT met'})"
    )
    print(f"  wall plain / SQUAREM {bound_word}{plain_wall_ratio:.2f}x")
    return dict(
        d=d,
        best=best,
        reached=p_plain is not None,
        plain_a=(plain_a.n_iter_, plain_a_time, gap(plain_a.lower_bound_, best)),
        squarem_a=(squarem_a.n_iter_, squarem_a_time, gap(squarem_a.lower_bound_, best)),
        plain=(plain_passes, plain_time),
        squarem=(p_squarem, squarem_time),
        sklearn=(sk["gmm"].n_iter_, sk["time"], sk["threads"], tol_star),
        pass_ratio=pass_ratio,
        wall_ratio=wall_ratio,
        plain_wall_ratio=plain_wall_ratio,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 50])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-8, help="Part A's relative tol")
    parser.add_argument("--plain-cap", type=int, default=20000, help="plain EM's most passes")
    parser.add_argument(
        "--plain-reference-dims",
        type=int,
        nargs="*",
        default=[2],
        help="dims whose L* also takes plain EM run to rel. 1e-13 (slow at 50)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import joblib

    from pcagmm import PCA

    started = time.perf_counter()
    Z50 = PCA(50).fit_transform(mnist_X())
    projections = {d: np.ascontiguousarray(Z50[:, :d]) for d in args.dims}
    summary = [run(d, Z, args) for d, Z in projections.items()]

    print(
        f"\n--- summary (median of {args.repeats}, K = {K} full, random_state = {SEED}, "
        f"{joblib.cpu_count()} cores; Part A: relative tol {args.tol:g}; Part B: to "
        f"L* - {SAME_LL:g}|L*|) ---"
    )
    print(
        "| data | plain EM to tol: passes / s / gap | SQUAREM to tol: passes / s / gap "
        "| to L*: plain EM passes / s | SQUAREM passes / s | scikit-learn passes / s (tol) "
        "| passes plain / SQUAREM | wall sklearn / SQUAREM | wall plain / SQUAREM |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary:
        if r["squarem"] is None:
            print(f"| MNIST-PCA-{r['d']} | SQUAREM did not reach L* - {SAME_LL:g}|L*| |")
            continue
        low = "" if r["reached"] else ">= "
        plain_passes = r["plain"][0] if r["reached"] else f"> {r['plain'][0]}"
        sk_passes, sk_time, sk_threads, sk_tol = r["sklearn"]
        sk_passes = sk_passes if r["reached"] else f"> {sk_passes}"
        sk_tol = f"tol {sk_tol:.2e}" if sk_tol is not None else "tol 0, lower bound"
        print(
            f"| MNIST-PCA-{r['d']} "
            f"| {r['plain_a'][0]} / {r['plain_a'][1]:.2f} s / {r['plain_a'][2]:.1e} "
            f"| {r['squarem_a'][0]} / {r['squarem_a'][1]:.2f} s / {r['squarem_a'][2]:.1e} "
            f"| {plain_passes} / {low}{r['plain'][1]:.2f} s "
            f"| {r['squarem'][0]} / {r['squarem'][1]:.2f} s "
            f"| {sk_passes} / {low}{sk_time:.2f} s ({sk_tol}, {sk_threads} thr) "
            f"| {low}{r['pass_ratio']:.1f}x | {low}{r['wall_ratio']:.1f}x "
            f"| {low}{r['plain_wall_ratio']:.1f}x |"
        )
    print("L* per data set: " + ", ".join(f"PCA-{r['d']} {r['best']:.12f}" for r in summary))
    print(f"total runtime {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

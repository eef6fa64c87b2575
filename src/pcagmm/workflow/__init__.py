"""Analyses built from reusable stages.

``config`` (:class:`RunConfig`, every option), ``stages`` (load, check, project,
cluster, evaluate), ``timing`` (the timed-stage helper), ``result`` (:class:`Result`,
data only), ``artifacts`` (the run folder and its table of figures), ``analysis``
(:func:`run`: the stages composed; the place for other analyses built from them),
``stability_study`` (:func:`stability`: one analysis from several seeds and resamples),
``selection`` (:func:`select`: a sweep of models, the best one's run).
"""

from .config import RunConfig

__all__ = [
    "Result",
    "RunConfig",
    "Selection",
    "Stability",
    "StabilityConfig",
    "run",
    "run_config",
    "select",
    "stability",
]


def __getattr__(name: str):
    # the stages import the estimators' modules: only when first asked for, so that the
    # command line (which reads RunConfig for its options) starts fast
    if name in ("run", "run_config"):
        from . import analysis

        return getattr(analysis, name)
    if name in ("Stability", "StabilityConfig", "stability"):
        from . import stability_study as module

        return getattr(module, name)
    if name in ("Selection", "select"):
        from . import selection as module

        return getattr(module, name)
    if name == "Result":
        from .result import Result

        return Result
    raise AttributeError(f"module 'pcagmm.workflow' has no attribute {name!r}")

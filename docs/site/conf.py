"""Sphinx configuration of pcagmm's documentation site.

Built offline by ``make docs`` with warnings as errors (``-W``) and every cross-reference
required to resolve (``-n``), which is how the site's internal links are checked without
a network. The notebooks in ``examples/`` (``docs/site/examples`` links to it) are executed
at build time, so every figure on the site is the one the code makes today.
"""

import os

project = "pcagmm"
author = "the pcagmm developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
]
exclude_patterns = ["_build", "PLAN.md", "**/.ipynb_checkpoints"]

# --- the API reference (api.rst): autosummary pages from the numpydoc docstrings ------
autosummary_generate = True
# the page templates (_templates/autosummary): a class's page documents its methods and
# properties; an estimator's also those it inherits from scikit-learn (get_params...)
templates_path = ["_templates"]
numpydoc_show_class_members = False
# the types are those of the docstrings' Parameters and Returns sections; the
# annotations would repeat them in each signature
autodoc_typehints = "none"
# intersphinx would fetch inventories from the network: the site builds offline, so
# references to NumPy, scikit-learn and Dask are written as plain text, not links
intersphinx_mapping = {}


def _plain_text_aliases() -> dict:
    """numpydoc's default aliases point into Python's and NumPy's docs by intersphinx,
    which this offline build has not: they stay plain text."""
    from numpydoc.xref import DEFAULT_LINKS

    return {name: name for name in DEFAULT_LINKS}


# the types in Parameters and Returns link to pcagmm's own classes, and only to them
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    **_plain_text_aliases(),
    "PCA": "pcagmm.PCA",
    "GaussianMixture": "pcagmm.GaussianMixture",
    "BayesianGaussianMixture": "pcagmm.BayesianGaussianMixture",
    "RunConfig": "pcagmm.RunConfig",
    "Result": "pcagmm.workflow.Result",
    "Stability": "pcagmm.Stability",
    "StabilityConfig": "pcagmm.StabilityConfig",
    "Selection": "pcagmm.workflow.Selection",
    "SelectConfig": "pcagmm.workflow.selection.SelectConfig",
    "LikelihoodRatioTest": "pcagmm.mixture.lrt.LikelihoodRatioTest",
    "Step": "pcagmm.mixture.lrt.Step",
    "Projection": "pcagmm.workflow.stages.Projection",
    "Clustering": "pcagmm.workflow.stages.Clustering",
    "Convergence": "pcagmm.workflow.stages.Convergence",
    "Agreement": "pcagmm.evaluate.Agreement",
    "Bootstrap": "pcagmm.mixture.bootstrap.Bootstrap",
    "StageTimer": "pcagmm.workflow.timing.StageTimer",
    "Progress": "pcagmm.progress.Progress",
    "Task": "pcagmm.progress.Task",
    "Dataset": "pcagmm.datasets.Dataset",
    "DatasetSpec": "pcagmm.datasets.DatasetSpec",
}

# every documented object's docstring is checked (-W makes a failed check an error);
# "all" but these:
numpydoc_validation_checks = {
    "all",
    "SA01",  # a See Also section everywhere: the API page groups related names instead
    "EX01",  # an Examples section everywhere: the guide and the notebooks are the examples
    "ES01",  # an extended summary everywhere: a one-line summary says all of a small function
}
# (a class that pcagmm makes and the user reads, such as Result or Projection, documents
# its fields as Attributes and turns off PR01 on its own line: ``# numpydoc ignore=PR01``)
numpydoc_validation_exclude = {
    # the methods an estimator inherits from scikit-learn: scikit-learn's docstrings
    r"\.(get_params|set_params|get_metadata_routing|set_\w+_request|set_output)$",
    r"\.get_feature_names_out$",
    # a constant's ``#:`` comment is not a numpydoc docstring (numpydoc would check the
    # docstring of its type, dict)
    r"^pcagmm\.datasets\.registry\.BUILTIN$",
}

# References that cannot resolve offline (intersphinx is empty), and only those:
# pcagmm's own names all have an entry.
nitpick_ignore_regex = [
    # scikit-learn's classes and functions, named in pcagmm's docstrings and in those of
    # the methods the estimators inherit (NumPy's and Dask's types are plain text)
    (r"py:.*", r"sklearn(\..+)?"),
    # labels and glossary terms of scikit-learn's own site, in the inherited docstrings
    (r"std:ref", r"metadata_routing|df_output_transform|sphx_glr_.*"),
    (r"std:term", r"meta-estimator"),
]


def _run_options(app, what, name, obj, options, lines):
    """The parameters of RunConfig and of run, made from RunConfig's fields: the default
    and the help text of each (written once, in ``option()``, for ``pcagmm run --help``
    too)."""
    if name not in ("pcagmm.RunConfig", "pcagmm.run"):
        return
    import dataclasses
    import re

    from pcagmm.workflow.config import RunConfig, flag

    # the fields annotated ``object``: what they take
    types = {
        "dataset": "str, path-like, ndarray or Dataset",
        "out": "path-like or None",
        "folder": "path-like or None",
        "label_column": "int, str or None",
    }
    entries = []
    for field in dataclasses.fields(RunConfig):
        kind = types.get(field.name, str(field.type).replace(" | ", " or "))
        # plain text in reST: "|" is not a substitution, and the flags are code (else
        # "--" would be typeset as a dash)
        help_text = field.metadata["help"].replace("|", "\\|")
        help_text = re.sub(r"(--[a-z][a-z-]*)", r"``\1``", help_text)
        if field.metadata["cli"]:
            # what ``pcagmm run --help`` shows: the flag (for an option on by default,
            # ``--no-<name>``), then its help text
            help_text = f"``{flag(field.name)}``: {help_text}"
        else:
            help_text = help_text[0].upper() + help_text[1:]
        entries += [f"{field.name} : {kind}, default={field.default!r}", f"    {help_text}."]
    if "Parameters" in lines:  # first in the docstring's own Parameters section
        at = lines.index("Parameters") + 2
    else:  # a section of their own, before Returns and Raises
        later = [i for i, line in enumerate(lines) if line in ("Returns", "Raises")]
        at = later[0] if later else len(lines)
        entries = ["Parameters", "----------", *entries, ""]
    lines[at:at] = entries


def setup(app):
    # before numpydoc's own handler (priority 500), which parses the sections
    app.connect("autodoc-process-docstring", _run_options, priority=400)


# --- Markdown pages (MyST) and notebooks (myst-nb) -------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
# every notebook runs when the site is built; an error in any cell fails the build
# (PCAGMM_DOCS_NO_EXECUTE=1 skips them, for a quick look at the prose pages only)
nb_execution_mode = "off" if os.environ.get("PCAGMM_DOCS_NO_EXECUTE") else "cache"
# each notebook runs in a temporary folder: what it writes (run folders, generated
# files) never lands in the source tree
nb_execution_in_temp = True
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_show_tb = True

# --- the theme --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "pcagmm"
html_theme_options = {"navigation_with_keys": False}

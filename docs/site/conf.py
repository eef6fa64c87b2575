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
numpydoc_show_class_members = False
# intersphinx would fetch inventories from the network: the site builds offline, so
# references to NumPy, scikit-learn and Dask are written as plain text, not links
intersphinx_mapping = {}

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

"""Sphinx configuration of pcagmm's documentation site (work in progress, issue 29).

Built offline by ``make docs`` with warnings as errors."""

project = "pcagmm"
author = "the pcagmm developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_nb",
]
autosummary_generate = True
numpydoc_show_class_members = False
# the notebooks in examples/ are executed when the site is built
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False}
exclude_patterns = ["_build", "PLAN.md"]

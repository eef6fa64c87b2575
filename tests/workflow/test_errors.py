"""Errors name parameters as the caller spells them: Python in the library, flags on the
command line."""

from __future__ import annotations

import numpy as np
import pytest

from pcagmm import run
from pcagmm.errors import ParameterError, RunError, literal
from pcagmm.workflow.config import flag


def test_a_parameter_error_speaks_python_and_renders_flags():
    error = ParameterError("{components=5} is more than x allows", "choose {components} <= 3")
    assert str(error) == "components=5 is more than x allows; choose components <= 3"
    assert error.problem == "components=5 is more than x allows"
    assert error.render(flag) == "--components 5 is more than x allows; choose --components <= 3"
    assert error.render() == str(error)


def test_booleans_and_renamed_flags():
    error = ParameterError(
        "{figure_format='gif'} and {folder=x}", "pass {force=True} or {plots=False}"
    )
    assert str(error) == "figure_format='gif' and folder=x; pass force=True or plots=False"
    assert error.render(flag) == "--format 'gif' and --from x; pass --force or --no-plots"
    assert flag("rows") == "--rows"  # not a run option: its name with dashes


def test_braces_of_paths_are_left_alone():
    error = ParameterError(f"{literal('/tmp/{a}/b.npy')} is wrong", "use {out}")
    assert str(error) == "/tmp/{a}/b.npy is wrong; use out"
    assert error.render(flag) == "/tmp/{a}/b.npy is wrong; use --out"
    assert str(RunError("/tmp/{components}", "x")) == "/tmp/{components}; x"  # not templated


def test_the_python_api_names_parameters(tmp_path):
    np.save(tmp_path / "col.npy", np.arange(10.0)[:, None])
    with pytest.raises(ParameterError, match=r"^components=2 is more than col.npy allows"):
        run(tmp_path / "col.npy", out=tmp_path / "out", plots=False)
    with pytest.raises(ParameterError, match=r"^components=5 is more than col.npy allows"):
        run(tmp_path / "col.npy", components=5, write=False)

"""Every public name of lrjax has a docstring and a place in docs/api.md."""

import inspect
import pathlib

import pytest

import lrjax

API = (pathlib.Path(__file__).parents[1] / "docs" / "api.md").read_text()
MODULES = [
    lrjax,
    lrjax.tensors,
    lrjax.linalg,
    lrjax.solvers,
    lrjax.prox,
    lrjax.decomposition,
    lrjax.testing,
    pytest.importorskip("lrjax.data"),
]
NAMES = sorted({(m.__name__, n) for m in MODULES for n in m.__all__})


@pytest.mark.parametrize(("module", "name"), NAMES)
def test_public_name_documented(module, name):
    assert f"`{name}" in API or f"{name}(" in API or f"`{module}.{name}`" in API, name
    obj = getattr(__import__(module, fromlist=[name]), name)
    if inspect.ismodule(obj) or isinstance(obj, str):
        return
    assert inspect.getdoc(obj), f"{module}.{name} has no docstring"

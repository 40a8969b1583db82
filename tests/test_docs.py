"""Every public name of lrjax has a docstring and a place in docs/api.md."""

import inspect
import pathlib
import re

import pytest

import lrjax
import lrjax.metrics

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
    lrjax.metrics,
    pytest.importorskip("lrjax.nn"),
]
NAMES = sorted({(m.__name__, n) for m in MODULES for n in m.__all__})


@pytest.mark.parametrize(("module", "name"), NAMES)
def test_public_name_documented(module, name):
    assert f"`{name}" in API or f"{name}(" in API or f"`{module}.{name}`" in API, name
    obj = getattr(__import__(module, fromlist=[name]), name)
    if inspect.ismodule(obj) or isinstance(obj, str):
        return
    assert inspect.getdoc(obj), f"{module}.{name} has no docstring"


DOCTEST_MODULES = [
    "lrjax.decomposition._cp_opt",
    "lrjax.decomposition._parafac2",
    "lrjax.decomposition._indscal",
    "lrjax.decomposition._candelinc",
    "lrjax.decomposition._dedicom",
    "lrjax.decomposition._block_term",
    "lrjax.solvers._least_squares",
    "lrjax.tensors._parafac2",
    "lrjax.tensors._block_term",
    "lrjax.tensors._dedicom",
    "lrjax.metrics",
    "lrjax.data._polyphonic",
    "lrjax.nn._init",
    "lrjax.nn._dense",
    "lrjax.nn._tt_linear",
    "lrjax.nn._recurrent",
    "lrjax.nn._conv",
    "lrjax.nn._denton",
    "lrjax.nn._force",
    "lrjax.nn._compress",
]


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    """The examples in the docstrings of these modules are executed and must hold."""
    import doctest

    import jax
    import jax.numpy as jnp
    import numpy as np

    nnx = pytest.importorskip("flax.nnx")
    mod = __import__(module, fromlist=["_"])
    extra = {"jax": jax, "jnp": jnp, "np": np, "nnx": nnx}
    result = doctest.testmod(mod, extraglobs=extra, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0, result


GUIDE = (pathlib.Path(__file__).parents[1] / "docs" / "decompositions.md").read_text()
GUIDE_BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.S)


def test_decompositions_guide_has_examples():
    assert len(GUIDE_BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(GUIDE_BLOCKS)))
def test_decompositions_guide_examples_run(index):
    """Every Python block of docs/decompositions.md runs and its assertions hold."""
    exec(compile(GUIDE_BLOCKS[index], "docs/decompositions.md", "exec"), {})

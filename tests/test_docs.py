"""Every public name of lrjax has a docstring and a place in docs/api.md."""

import inspect
import pathlib
import re

import pytest

import lrjax
import lrjax.distributed
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
    lrjax.imaging,
    pytest.importorskip("lrjax.nn"),
    lrjax.distributed,
    lrjax.metric_learning,
    lrjax.bandits,
]
NAMES = sorted({(m.__name__, n) for m in MODULES for n in m.__all__})


@pytest.mark.parametrize(("module", "name"), NAMES)
def test_public_name_documented(module, name):
    assert f"`{name}" in API or f"{name}(" in API or f"`{module}.{name}`" in API, name
    obj = getattr(__import__(module, fromlist=[name]), name)
    if inspect.ismodule(obj) or isinstance(obj, str):
        return
    assert inspect.getdoc(obj), f"{module}.{name} has no docstring"


# The docstring examples of every module in lrjax/ run through pytest's --doctest-modules
# (pyproject.toml), in float32 as users run them (conftest.py at the repository root).


GUIDE = (pathlib.Path(__file__).parents[1] / "docs" / "decompositions.md").read_text()
GUIDE_BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.S)


def test_decompositions_guide_has_examples():
    assert len(GUIDE_BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(GUIDE_BLOCKS)))
def test_decompositions_guide_examples_run(index):
    """Every Python block of docs/decompositions.md runs and its assertions hold."""
    exec(compile(GUIDE_BLOCKS[index], "docs/decompositions.md", "exec"), {})


def test_docs_site_lists_every_page_and_subpackage():
    """mkdocs.yml (``make docs``, built by CI with warnings as errors) has every page of docs/
    in its navigation and an API reference page per public subpackage."""
    root = pathlib.Path(__file__).parents[1]
    config = (root / "mkdocs.yml").read_text()
    nav = set(re.findall(r":\s*([\w/]+\.md)\s*$", config, flags=re.M))
    pages = {str(p.relative_to(root / "docs")) for p in (root / "docs").rglob("*.md")}
    assert pages <= nav, f"pages missing from mkdocs.yml's nav: {sorted(pages - nav)}"
    import lrjax

    subpackages = {n for n in lrjax.__all__ if inspect.ismodule(getattr(lrjax, n))}
    subpackages |= {"nn", "data", "distributed"}
    for name in subpackages:
        page = root / "docs" / "reference" / f"{name}.md"
        assert page.is_file() and f"::: lrjax.{name}" in page.read_text(), name

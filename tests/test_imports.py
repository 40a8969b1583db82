"""The layering of the code base, checked by walking every import statement.

Rules (docs/index.md, "Layout"):

* A module of one subpackage (``lrjax.linalg``, ``lrjax.decomposition``, ...) or of one
  experiment (``experiments.polyphonic``, ...) never imports a private name (one starting
  with ``_``) of another subpackage or experiment; it uses that one's public entries. A
  public name in a private module (``lrjax.linalg._svd.svd_flip``) is an internal entry,
  declared shared by its name.
* Inside one subpackage or experiment, private helpers shared between modules live in its
  ``_common`` module; no module imports private names from a sibling other than ``_common``.
* The top-level private modules (``lrjax._checks``, ``experiments._workdir``, ...) are the
  declared shared internals of the whole package and may be imported anywhere below it.
* ``experiments`` use lrjax as a user does: no private module or name of lrjax.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lrjax", "experiments")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel.with_suffix(".py")).exists() or (ROOT / rel / "__init__.py").exists()


def _unit(name: str) -> str:
    """The subpackage or experiment a module belongs to; the package itself for top-level
    modules (``lrjax._checks``: ``lrjax``)."""
    parts = name.split(".")
    if (
        len(parts) >= 2
        and _is_module(".".join(parts[:2]))
        and (ROOT / parts[0] / parts[1]).is_dir()
    ):
        return ".".join(parts[:2])
    return parts[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _violations() -> list[str]:
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            module = _module_name(path)
            unit = _unit(module)
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [(alias.name, None) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    source = _resolve(module, _is_package(path), node)
                    targets = [(source, alias.name) for alias in node.names]
                else:
                    continue
                for source, name in targets:
                    top = source.split(".")[0]
                    if top not in PACKAGES:
                        continue
                    full = source if name is None else f"{source}.{name}"
                    parts = full.split(".")
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    if top != module.split(".")[0] and any(_private(p) for p in parts):
                        found.append(f"{where}: {full} (another package's private name)")
                        continue
                    target_unit = _unit(source if name is None or not _is_module(full) else full)
                    last = parts[-1]
                    if not _private(last):
                        continue  # a public name, even of a private module: a declared entry
                    if target_unit != unit and target_unit != top:
                        found.append(f"{where}: {full} (private name of {target_unit})")
                    elif target_unit == unit and unit != top and not _is_module(full):
                        # inside one unit: sibling modules may be imported, private helpers
                        # only from _common
                        if source.split(".")[-1] != "_common":
                            found.append(f"{where}: {full} (private helper outside _common)")
    return found


def test_no_private_imports_across_subpackages_or_experiments():
    found = _violations()
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "from ..solvers._least_squares import _levenberg_marquardt\n",
            "private name of lrjax.solvers",
        ),
        ("from ._cp import _safe_norms\n", "private helper outside _common"),
    ],
)
def test_the_walker_catches_a_planted_violation(tmp_path, monkeypatch, source, expected):
    """The rule is live: a private import planted in a decomposition module is reported."""
    target = ROOT / "lrjax" / "decomposition" / "_tucker.py"
    text = target.read_text()
    original_parse = ast.parse

    def planted(src, filename="<unknown>", *args, **kwargs):
        if filename == str(target):
            src = src + "\n" + source
        return original_parse(src, filename, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", planted)
    found = _violations()
    assert any("_tucker.py" in f and expected in f for f in found), found
    assert target.read_text() == text


def test_no_module_over_600_lines():
    """A module that grows past 600 lines is doing several jobs: split it (docs/index.md,
    "Layout")."""
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for pkg in PACKAGES
        for path in sorted((ROOT / pkg).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 600
    ]
    assert not long, long

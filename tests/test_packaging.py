"""What the wheel carries: every lrjax package, and the shipped data with its provenance.

``make wheel-check`` (run by CI) builds the wheel and loads every dataset from a fresh venv;
these are the fast checks of the configuration it relies on.
"""

import tomllib
from pathlib import Path

from lrjax import data

ROOT = Path(__file__).resolve().parents[1]
SETUP = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_listed_for_the_wheel():
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lrjax").rglob("__init__.py")
    }
    listed = set(SETUP["packages"])
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert listed - found == {"lrjax.data.files"}, sorted(listed - found)


def test_the_shipped_data_goes_into_the_wheel_with_its_sources():
    assert SETUP["package-dir"]["lrjax.data.files"] == "data"
    assert "**/*" in SETUP["package-data"]["lrjax.data.files"]
    assert (ROOT / "data" / "SOURCES.md").is_file()


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv("LRJAX_DATA", raising=False)
    assert data.data_root() == ROOT / "data"  # a checkout
    assert data.data_root(tmp_path) == tmp_path
    monkeypatch.setenv("LRJAX_DATA", str(tmp_path))
    assert data.data_root() == tmp_path
    assert data.data_root(ROOT) == ROOT  # an explicit root wins

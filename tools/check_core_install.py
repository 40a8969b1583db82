"""Import every core module of an lrjax installed with its core dependencies only (jax, numpy,
jaxtyping) and run one small decomposition: optional packages must stay optional.

Run by ``make core-check`` in a fresh virtual environment (CI runs it before the tests).
"""

import importlib
import pkgutil
import sys
from importlib import resources

import lrjax

OPTIONAL = ("optax", "flax", "scipy", "PIL", "ml_collections", "orbax", "matplotlib")
CORE_SKIP = ("lrjax.nn",)  # the Flax layers need the nn extra, by design


def main() -> int:
    names = [
        m.name
        for m in pkgutil.walk_packages(lrjax.__path__, "lrjax.")
        if not m.name.startswith(CORE_SKIP)
    ]
    for name in names:
        importlib.import_module(name)
    loaded = [p for p in OPTIONAL if p in sys.modules]
    if loaded:
        print(f"core modules imported optional packages: {loaded}")
        return 1
    if not resources.files("lrjax").joinpath("py.typed").is_file():
        print("the installed package has no py.typed (PEP 561)")
        return 1
    import jax

    x = lrjax.testing.random_cp(jax.random.key(0), (6, 5, 4), 2).to_dense()
    res = lrjax.cp_als(x, 2)
    assert float(res.info.error) < 1e-3, res.info
    res = lrjax.cp_opt(x, 2)  # Levenberg-Marquardt: no optax needed
    assert float(res.info.error) < 1e-3, res.info
    try:
        lrjax.cp_opt(x, 2, method="lbfgs")
    except ImportError as err:
        assert "optax" in str(err)
    else:
        print("cp_opt(method='lbfgs') ran without optax installed?")
        return 1
    print(f"core install: {len(names)} modules imported without {OPTIONAL}; cp_als and cp_opt run")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Thread control for the LAPACK library behind jaxlib's CPU linear algebra."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .. import _checks


@contextlib.contextmanager
def lapack_threads(n: int = 1) -> Iterator[list[str]]:
    """Limit the threads of the BLAS/LAPACK that jaxlib's CPU solvers call, within a block.

    On CPU, jaxlib runs ``svd``, ``eigh``, ``qr``, ``solve`` and ``cholesky`` through SciPy's
    bundled OpenBLAS. Its worker threads compete with XLA's own thread pool, so on a machine
    with few cores every small LAPACK call made from inside a jitted loop costs milliseconds
    more than its arithmetic (measured on a 2-core machine: a 200^3 HOOI sweep takes 32 ms
    with two OpenBLAS threads and 16 ms with one). Large factorizations, on the other hand,
    want the threads (the project's design notes record a 4000 x 3000 SVD at 7 s with two
    and 12 s with one; robust PCA on 2000 x 2000, whose time is its full SVDs, measured
    28 s with two and 44 s inside ``lapack_threads(1)``, docs/benchmarks_solvers.md).
    Use this around loops of small factorizations; NumPy's own BLAS (a separate library in
    NumPy >= 2) is left alone, and the previous limits are restored on exit. Compiled code
    is unaffected: the setting acts at run time.

    Needs the ``threadpoolctl`` package (installed with lrjax's ``[experiments]`` and
    ``[test]`` extras).

    Args:
        n: number of threads, at least 1.

    Yields:
        The file paths of the libraries that were limited (empty if none was found).

    Examples:
        >>> import jax.numpy as jnp, lrjax
        >>> with lapack_threads(1):
        ...     tucker, info = lrjax.tucker_hooi(jnp.ones((6, 5, 4)), 2)
    """
    n = _checks.positive_int("n", n)
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "lapack_threads needs the `threadpoolctl` package: pip install threadpoolctl"
        ) from err
    import scipy.linalg.cython_lapack  # noqa: F401  (loads the library jaxlib calls)

    controller = ThreadpoolController()
    paths = [
        info["filepath"]
        for info in controller.info()
        if info.get("user_api") == "blas" and "scipy" in info["filepath"].split("/")[-2]
    ]
    if not paths:
        yield []
        return
    with controller.select(filepath=paths).limit(limits=n):
        yield paths

"""Thread control for the LAPACK library behind jaxlib's CPU linear algebra."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import jax

from .. import _checks
from .._sharding import is_traced, on_cpu

T = TypeVar("T")

#: Largest matrix side for which :func:`serial_lapack_call` takes LAPACK down to one thread.
#: Measured on a 2-core machine (jaxlib's ``eigh`` alone): 256 and 512 run as fast on one
#: thread as on two (7.7 / 34 ms against 7.7 / 38 ms), 1024 and 2048 take 1.5x as long
#: (214 / 1506 ms against 139 / 948 ms); inside jitted loops of small calls one thread wins.
SERIAL_LAPACK_MAX = 512

_lock = threading.Lock()
_depth = 0
_saved: list[tuple[Any, int]] = []


@functools.cache
def _scipy_blas() -> tuple[Any, ...]:
    """threadpoolctl's controllers of the BLAS/LAPACK libraries jaxlib calls (SciPy's
    OpenBLAS); empty without threadpoolctl or when none is loaded."""
    try:
        import scipy.linalg.cython_lapack  # noqa: F401  (loads the library jaxlib calls)
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - depends on the environment
        return ()

    return tuple(
        lib
        for lib in ThreadpoolController().lib_controllers
        if lib.user_api == "blas" and "scipy" in lib.filepath.split("/")[-2]
    )


@contextlib.contextmanager
def lapack_threads(n: int = 1) -> Iterator[list[str]]:
    """Limit the threads of the BLAS/LAPACK that jaxlib's CPU solvers call, within a block.

    On CPU, jaxlib runs ``svd``, ``eigh``, ``qr``, ``solve`` and ``cholesky`` through SciPy's
    bundled OpenBLAS. Its worker threads compete with XLA's own thread pool, so on a machine
    with few cores every small LAPACK call made from inside a jitted loop costs milliseconds
    more than its arithmetic (measured on a 2-core machine: a 200^3 HOOI sweep takes 20-23 ms
    with two OpenBLAS threads and 13-15 ms with one). Large factorizations, on the other hand,
    want the threads (an ``eigh`` of 1024 x 1024 takes 1.5x as long on one thread; robust
    PCA on 2000 x 2000, whose time is its 2000 x 2000 eigendecompositions, measured 24 s
    with two and 34 s inside ``lapack_threads(1)``, docs/benchmarks_solvers.md).

    lrjax's own eager calls of routines that loop over small factorizations
    (:func:`lrjax.tucker_hooi`, :func:`lrjax.hosvd`, :func:`lrjax.parafac2`,
    :func:`lrjax.robust_pca`, :func:`lrjax.tensor_robust_pca`, :func:`lrjax.complete_matrix`)
    already run
    on one LAPACK thread when every matrix they factorize is at most
    ``SERIAL_LAPACK_MAX`` (512) on a side; use this context manager for such loops in your
    own jitted code. NumPy's own BLAS (a separate library in
    NumPy >= 2) is left alone, and the previous limits are restored on exit. Compiled code
    is unaffected: the setting acts at run time.

    Needs the ``threadpoolctl`` package (a dependency of lrjax).

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
        import threadpoolctl  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "lapack_threads needs the `threadpoolctl` package: pip install threadpoolctl"
        ) from err
    libs = _scipy_blas()
    saved = [(lib, lib.get_num_threads()) for lib in libs]
    for lib in libs:
        lib.set_num_threads(n)
    try:
        yield [lib.filepath for lib in libs]
    finally:
        for lib, count in saved:
            lib.set_num_threads(count)


def serial_lapack_call(largest: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, with jaxlib's CPU LAPACK on one thread when that is faster.

    For lrjax's eager entry points whose solvers loop over small factorizations: when the
    call is eager (no tracer among ``args``), runs on CPU, and ``largest`` (the largest
    matrix side the solver hands LAPACK) is at most :data:`SERIAL_LAPACK_MAX`, the call runs
    with SciPy's OpenBLAS on one thread and waits for its result before the previous thread
    count is restored (jaxlib's LAPACK runs when the program does, not when it is
    dispatched). Only calls from the main Python thread are limited: OpenBLAS 0.3.30 keeps a
    limit set from another thread to that thread, while jaxlib's LAPACK runs on XLA's
    workers. Otherwise (traced, another backend, large matrices, another thread, no
    threadpoolctl) it is a plain call.

    Args:
        largest: the largest side of a matrix the call factorizes.
        fn: the function to call.
        *args: its positional arguments (checked for tracers and devices).
        **kwargs: its keyword arguments.

    Returns:
        ``fn``'s result.
    """
    if (
        largest > SERIAL_LAPACK_MAX
        or threading.current_thread() is not threading.main_thread()
        or is_traced(args)
        or not on_cpu(args)
    ):
        return fn(*args, **kwargs)
    libs = _scipy_blas()
    if not libs:
        return fn(*args, **kwargs)
    global _depth
    with _lock:
        if _depth == 0:
            _saved[:] = [(lib, lib.get_num_threads()) for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _depth += 1
    try:
        return jax.block_until_ready(fn(*args, **kwargs))
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for lib, count in _saved:
                    lib.set_num_threads(count)

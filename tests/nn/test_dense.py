"""Factorized dense layers against independent NumPy reconstructions and closed-form counts."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")

import lrjax  # noqa: E402
from lrjax.nn import CPLinear, LowRankLinear, TTLinear, TuckerLinear, balanced_modes  # noqa: E402

IN, OUT = (4, 3, 2), (2, 5, 3)
N_IN, N_OUT = math.prod(IN), math.prod(OUT)
F64 = dict(param_dtype=jnp.float64)


def _layers(rngs, materialize=False):
    kw = dict(in_modes=IN, out_modes=OUT, materialize=materialize, **F64, rngs=rngs)
    return {
        "lowrank": LowRankLinear(N_IN, N_OUT, 4, materialize=materialize, **F64, rngs=rngs),
        "cp": CPLinear(N_IN, N_OUT, 5, **kw),
        "tucker": TuckerLinear(N_IN, N_OUT, (2, 3, 2), **kw),
        "tt": TTLinear(N_IN, N_OUT, (1, 3, 4, 1), **kw),
    }


def _numpy_kernel(name, layer):
    """The kernel rebuilt from the factors with NumPy (independent of the layer's code)."""
    if name == "lowrank":
        return np.asarray(layer.u[...]) @ np.asarray(layer.v[...])
    if name == "cp":
        a = [np.asarray(f[...]) for f in layer.in_factors]
        b = [np.asarray(f[...]) for f in layer.out_factors]
        w = np.zeros(IN + OUT)
        for r in range(layer.rank):
            outer = np.ones(())
            for f in a + b:
                outer = np.multiply.outer(outer, f[:, r])
            w += outer
        return w.reshape(N_IN, N_OUT)
    if name == "tucker":
        w = np.asarray(layer.core[...])
        factors = [np.asarray(f[...]) for f in [*layer.in_factors, *layer.out_factors]]
        for k, f in enumerate(factors):
            w = np.moveaxis(np.tensordot(f, w, axes=([1], [k])), 0, k)
        return w.reshape(N_IN, N_OUT)
    if name == "tt":
        cores = [np.asarray(c[...]) for c in layer.cores]
        t = cores[0]
        for c in cores[1:]:
            t = np.tensordot(t, c, axes=([-1], [0]))
        d = len(cores)
        t = t.reshape(t.shape[1:-1]).transpose([*range(0, 2 * d, 2), *range(1, 2 * d, 2)])
        return t.reshape(N_IN, N_OUT)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["lowrank", "cp", "tucker", "tt"])
@pytest.mark.parametrize("materialize", [False, True])
def test_layer_equals_dense_layer_of_its_kernel(name, materialize):
    layer = _layers(nnx.Rngs(0), materialize)[name]
    layer.bias[...] = jnp.arange(N_OUT, dtype=jnp.float64) / N_OUT
    w = _numpy_kernel(name, layer)
    np.testing.assert_allclose(layer.kernel_matrix(), w, rtol=1e-12, atol=1e-13)
    x = jax.random.normal(jax.random.key(1), (2, 5, N_IN), jnp.float64)
    dense = layer.to_dense()
    assert isinstance(dense, nnx.Linear)
    np.testing.assert_allclose(layer(x), dense(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        layer(x), np.asarray(x) @ w + np.asarray(layer.bias[...]), atol=1e-12
    )


def test_tt_layer_on_a_large_batch_forms_the_kernel_with_the_same_result():
    """Above 80 rows this layer's contraction intermediate would exceed 4x the kernel and the
    layer multiplies by the formed kernel: same outputs and gradients as row blocks of 8."""
    layer = _layers(nnx.Rngs(0))["tt"]
    w = _numpy_kernel("tt", layer)
    x = jax.random.normal(jax.random.key(2), (200, N_IN), jnp.float64)
    np.testing.assert_allclose(layer(x), np.asarray(x) @ w, rtol=1e-12, atol=1e-12)
    blocks = [x[i : i + 8] for i in range(0, 200, 8)]
    np.testing.assert_allclose(
        layer(x), jnp.concatenate([layer(b) for b in blocks]), rtol=1e-12, atol=1e-12
    )
    loss = lambda m, x: jnp.sum(jnp.sin(m(x)))
    whole = nnx.grad(loss)(layer, x)
    parts = [nnx.grad(loss)(layer, b) for b in blocks]
    summed = jax.tree.map(lambda *g: sum(g), *parts)
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(summed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_parameter_counts_match_closed_forms():
    layers = _layers(nnx.Rngs(0))
    expected = {
        "lowrank": 4 * (N_IN + N_OUT),
        "cp": 5 * (sum(IN) + sum(OUT)),
        "tucker": (2 * 3 * 2) ** 2
        + sum(m * r for m, r in zip(IN + OUT, (2, 3, 2) * 2, strict=True)),
        "tt": 1 * 4 * 2 * 3 + 3 * 3 * 5 * 4 + 4 * 2 * 3 * 1,
    }
    for name, layer in layers.items():
        assert layer.num_params == expected[name] + N_OUT, name
        assert layer.flops_per_example() < 2 * N_IN * N_OUT or name == "tucker", name


@pytest.mark.parametrize("name", ["lowrank", "cp", "tucker", "tt"])
def test_init_keeps_output_variance_of_dense_twin(name):
    x = jax.random.normal(jax.random.key(7), (4096, N_IN))
    dense_var = float(jnp.var(nnx.Linear(N_IN, N_OUT, rngs=nnx.Rngs(0))(x)))
    for seed in range(4):
        layer = {
            "lowrank": lambda r: LowRankLinear(N_IN, N_OUT, 4, rngs=r),
            "cp": lambda r: CPLinear(N_IN, N_OUT, 5, in_modes=IN, out_modes=OUT, rngs=r),
            "tucker": lambda r: TuckerLinear(N_IN, N_OUT, 2, in_modes=IN, out_modes=OUT, rngs=r),
            "tt": lambda r: TTLinear(N_IN, N_OUT, 3, in_modes=IN, out_modes=OUT, rngs=r),
        }[name](nnx.Rngs(seed))
        ratio = float(jnp.var(layer(x))) / dense_var
        assert 0.5 < ratio < 2.0, (seed, ratio)


def _planted(name, key):
    """An exactly low-rank kernel of each family, built with NumPy."""
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 1000)))
    if name == "lowrank":
        return rng.standard_normal((N_IN, 3)) @ rng.standard_normal((3, N_OUT)), 3
    if name == "cp":
        fs = [rng.standard_normal((m, 3)) for m in IN + OUT]
        w = sum(np.einsum("a,b,c,d,e,f->abcdef", *[f[:, r] for f in fs]) for r in range(3))
        return w.reshape(N_IN, N_OUT), 3
    if name == "tucker":
        core = rng.standard_normal((2, 2, 2, 2, 2, 2))
        w = core
        for k, m in enumerate(IN + OUT):
            w = np.moveaxis(np.tensordot(rng.standard_normal((m, 2)), w, axes=([1], [k])), 0, k)
        return w.reshape(N_IN, N_OUT), 2
    cores = [rng.standard_normal(s) for s in [(1, 4, 2, 2), (2, 3, 5, 3), (3, 2, 3, 1)]]
    t = cores[0]
    for c in cores[1:]:
        t = np.tensordot(t, c, axes=([-1], [0]))
    t = t.reshape(4, 2, 3, 5, 2, 3).transpose(0, 2, 4, 1, 3, 5)
    return t.reshape(N_IN, N_OUT), (1, 2, 3, 1)


def _from_dense(name, dense, rank):
    if name == "lowrank":
        return LowRankLinear.from_dense(dense, rank)
    if name == "cp":  # the rank exceeds a mode size: the extra initial columns need a key
        return CPLinear.from_dense(dense, rank, in_modes=IN, out_modes=OUT, key=jax.random.key(0))
    cls = {"tucker": TuckerLinear, "tt": TTLinear}[name]
    return cls.from_dense(dense, rank, in_modes=IN, out_modes=OUT)


@pytest.mark.parametrize("name", ["lowrank", "cp", "tucker", "tt"])
def test_from_dense_reproduces_an_exactly_low_rank_kernel(name):
    w, rank = _planted(name, jax.random.key(3))
    dense = nnx.Linear(N_IN, N_OUT, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    dense.kernel[...] = jnp.asarray(w)
    dense.bias[...] = jnp.linspace(-1, 1, N_OUT)
    layer = _from_dense(name, dense, rank)
    np.testing.assert_allclose(layer.kernel_matrix(), w, atol=1e-6 * np.abs(w).max())
    assert layer.compression_error < 1e-6
    x = jax.random.normal(jax.random.key(4), (3, N_IN), jnp.float64)
    np.testing.assert_allclose(layer(x), dense(x), atol=1e-6 * float(jnp.abs(dense(x)).max()))


@pytest.mark.parametrize(
    ("name", "rank"), [("lowrank", 2), ("cp", 2), ("tucker", (2, 2, 1)), ("tt", 2)]
)
def test_reported_compression_error_is_the_kernel_error(name, rank):
    rng = np.random.default_rng(5)
    dense = nnx.Linear(N_IN, N_OUT, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    dense.kernel[...] = jnp.asarray(rng.standard_normal((N_IN, N_OUT)))
    layer = _from_dense(name, dense, rank)
    w = np.asarray(dense.kernel[...])
    direct = np.linalg.norm(w - np.asarray(layer.kernel_matrix())) / np.linalg.norm(w)
    assert 0.05 < direct < 1.0
    np.testing.assert_allclose(layer.compression_error, direct, rtol=1e-6)


def test_truncated_svd_layer_is_the_eckart_young_optimum():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((N_IN, N_OUT))
    dense = nnx.Linear(N_IN, N_OUT, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    dense.kernel[...] = jnp.asarray(w)
    s = np.linalg.svd(w, compute_uv=False)
    layer = LowRankLinear.from_dense(dense, 5)
    np.testing.assert_allclose(layer.compression_error, np.sqrt(np.sum(s[5:] ** 2) / np.sum(s**2)))


def test_bad_arguments_are_named():
    r = nnx.Rngs(0)
    with pytest.raises(ValueError, match="in_modes"):
        CPLinear(24, 30, 3, in_modes=(4, 5), out_modes=OUT, rngs=r)
    with pytest.raises(ValueError, match="rank"):
        LowRankLinear(24, 30, 0, rngs=r)
    with pytest.raises(ValueError, match="ranks"):
        TTLinear(24, 30, (2, 3, 3, 1), in_modes=IN, out_modes=OUT, rngs=r)
    with pytest.raises(ValueError, match="rank"):
        TuckerLinear(24, 30, (2, 2), in_modes=IN, out_modes=OUT, rngs=r)
    with pytest.raises(ValueError, match="in_features=24"):
        CPLinear(24, 30, 3, in_modes=IN, out_modes=OUT, rngs=r)(jnp.ones((2, 25)))


def test_balanced_modes():
    assert balanced_modes(256, 4) == (4, 4, 4, 4)
    assert balanced_modes(512, 4) == (8, 4, 4, 4)
    assert math.prod(balanced_modes(1000, 3)) == 1000
    assert balanced_modes(7, 2) == (7, 1)


def test_renamed_rank_arguments_still_work_with_a_warning():
    """One vocabulary (docs/index.md): Tucker and TT ranks are ``ranks`` / ``max_rank``; the old
    spellings work for one release with a DeprecationWarning, and both at once is an error."""
    from lrjax.nn import TuckerConv, TuckerGRUCell

    new = TuckerLinear(16, 12, (2, 2, 2, 2), in_modes=(4, 4), out_modes=(4, 3), rngs=nnx.Rngs(0))
    with pytest.warns(DeprecationWarning, match="`rank` is deprecated"):
        old = TuckerLinear(16, 12, rank=(2, 2, 2, 2), in_modes=(4, 4), out_modes=(4, 3),
                           rngs=nnx.Rngs(0))  # fmt: skip
    np.testing.assert_array_equal(old.kernel_matrix(), new.kernel_matrix())
    with pytest.raises(TypeError, match="both `ranks` and its deprecated name `rank`"):
        TuckerLinear(16, 12, 2, rank=2, in_modes=(4, 4), out_modes=(4, 3), rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="missing required argument `ranks`"):
        TuckerLinear(16, 12, in_modes=(4, 4), out_modes=(4, 3), rngs=nnx.Rngs(0))
    with pytest.warns(DeprecationWarning):
        TuckerConv(3, 4, 3, rank=2, rngs=nnx.Rngs(0))
    with pytest.warns(DeprecationWarning):
        TuckerGRUCell(16, 16, rank=2, in_modes=(4, 4), hidden_modes=(4, 4), rngs=nnx.Rngs(0))
    x = jnp.arange(24.0).reshape(2, 3, 4)
    with pytest.warns(DeprecationWarning, match="`max_ranks` is deprecated"):
        old_tt = lrjax.tt_svd(x, max_ranks=2)
    np.testing.assert_allclose(old_tt.to_dense(), lrjax.tt_svd(x, max_rank=2).to_dense())


# TensorLy-Torch's tensor regression and contraction layers (Kossaifi et al.) on flattened
# (C, H, W) activations: a CP or Tucker kernel over input and output modes of different orders
# (TRL), and a rank-1 TT-matrix, the Kronecker product of one matrix per mode (TCL)
ACT, CLASSES = (3, 4, 2), 5


def test_tensor_regression_layers_with_more_input_than_output_modes():
    tl = pytest.importorskip("tensorly")
    x = jax.random.normal(jax.random.key(3), (6, *ACT), jnp.float64)
    flat = x.reshape(6, -1)
    n_in = math.prod(ACT)
    tucker = TuckerLinear(n_in, CLASSES, (2, 3, 2, 4), in_modes=ACT, out_modes=(CLASSES,), **F64,
                          rngs=nnx.Rngs(0))  # fmt: skip
    assert (tucker.in_ranks, tucker.out_ranks) == ((2, 3, 2), (4,))
    weight = tl.tucker_to_tensor(
        (np.asarray(tucker.core[...]), [np.asarray(f[...]) for f in (*tucker.in_factors,
                                                                      *tucker.out_factors)])
    )  # fmt: skip
    cp = CPLinear(n_in, CLASSES, 4, in_modes=ACT, out_modes=(CLASSES,), **F64, rngs=nnx.Rngs(1))
    cp_weight = tl.cp_to_tensor(
        (np.ones(4), [np.asarray(f[...]) for f in (*cp.in_factors, *cp.out_factors)])
    )
    for layer, w in ((tucker, weight), (cp, cp_weight)):
        assert w.shape == (*ACT, CLASSES)
        want = tl.tenalg.inner(np.asarray(x), w, n_modes=3) + np.asarray(layer.bias[...])
        np.testing.assert_allclose(layer(flat), want, rtol=1e-12, atol=1e-12)
    # from a trained dense regression, an exact Tucker kernel is recovered
    dense = nnx.Linear(n_in, CLASSES, **F64, rngs=nnx.Rngs(2))
    dense.kernel[...] = jnp.asarray(weight.reshape(n_in, CLASSES))
    again = TuckerLinear.from_dense(dense, (2, 3, 2, 4), in_modes=ACT, out_modes=(CLASSES,))
    assert again.compression_error < 1e-8
    np.testing.assert_allclose(again(flat), dense(flat), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match=r"`ranks` must be an int or one entry per mode \(4\)"):
        TuckerLinear(n_in, CLASSES, (2, 3, 2), in_modes=ACT, out_modes=(CLASSES,),
                     rngs=nnx.Rngs(0))  # fmt: skip


def test_tensor_contraction_layer_is_a_rank_one_tt_matrix():
    tl = pytest.importorskip("tensorly")
    out = (2, 3, 2)
    x = jax.random.normal(jax.random.key(4), (6, *ACT), jnp.float64)
    layer = TTLinear(math.prod(ACT), math.prod(out), 1, in_modes=ACT, out_modes=out, **F64,
                     rngs=nnx.Rngs(0))  # fmt: skip
    mats = [np.asarray(c[...])[0, :, :, 0].T for c in layer.cores]  # (out_k, in_k)
    want = tl.tenalg.multi_mode_dot(np.asarray(x), mats, modes=[1, 2, 3])
    got = layer(x.reshape(6, -1)) - layer.bias[...]
    np.testing.assert_allclose(got.reshape(6, *out), want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="pad the shorter with 1s"):
        TTLinear(math.prod(ACT), CLASSES, 1, in_modes=ACT, out_modes=(CLASSES,), rngs=nnx.Rngs(0))

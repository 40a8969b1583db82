"""GRU cells: flax's GRUCell as the oracle, the published parameter table, dense twins."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")

from lrjax.nn import CPGRUCell, GRUCell, TTGRUCell, TuckerGRUCell  # noqa: E402

MODES = dict(in_modes=(4, 4, 4, 4), hidden_modes=(8, 4, 4, 4))

# Tjandra, Sakti & Nakamura (IJCNN 2018), input 256 = (4,4,4,4), hidden 512 = (8,4,4,4)
TABLE = [
    (CPGRUCell, 10, 2_456),
    (CPGRUCell, 30, 4_296),
    (CPGRUCell, 50, 6_136),
    (CPGRUCell, 80, 8_896),
    (CPGRUCell, 110, 11_656),
    (TuckerGRUCell, (2, 2, 2, 2), 2_232),
    (TuckerGRUCell, (2, 3, 2, 3), 4_360),
    (TuckerGRUCell, (2, 3, 2, 4), 6_408),
    (TuckerGRUCell, (2, 4, 2, 4), 10_008),
    (TuckerGRUCell, (2, 3, 3, 4), 12_184),
    (TTGRUCell, (1, 3, 3, 3, 1), 2_688),
    (TTGRUCell, (1, 5, 5, 5, 1), 4_096),
    (TTGRUCell, (1, 7, 7, 7, 1), 6_016),
    (TTGRUCell, (1, 9, 9, 9, 1), 8_448),
    (TTGRUCell, (1, 11, 11, 11, 1), 11_392),
]


def test_dense_gru_parameter_count():
    assert GRUCell(256, 512, rngs=nnx.Rngs(0)).num_params == 1_181_184


@pytest.mark.parametrize(
    ("cls", "rank", "count"), TABLE, ids=[f"{c[0].__name__}-{c[1]}" for c in TABLE]
)
def test_published_parameter_table(cls, rank, count):
    cell = nnx.eval_shape(lambda: cls(256, 512, rank, **MODES, rngs=nnx.Rngs(0)))
    assert cell.num_params == count


def _interleave(k):
    """lrjax column 3h + g  ->  flax column g H + h."""
    h = k.shape[1] // 3
    return k.reshape(k.shape[0], h, 3).transpose(0, 2, 1).reshape(k.shape[0], 3 * h)


def test_gru_cell_equals_flax_gru_cell():
    cell = GRUCell(6, 5, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    cell.bias[...] = jnp.linspace(-1.0, 1.0, 15)
    ref = nnx.GRUCell(6, 5, param_dtype=jnp.float64, rngs=nnx.Rngs(1))
    ref.dense_i.kernel[...] = _interleave(cell.input_kernel[...])
    ref.dense_i.bias[...] = _interleave(cell.bias[...][None])[0]
    ref.dense_h.kernel[...] = _interleave(cell.recurrent_kernel[...])
    x = jax.random.normal(jax.random.key(0), (3, 7, 6), jnp.float64)
    np.testing.assert_allclose(nnx.RNN(cell)(x), nnx.RNN(ref)(x), rtol=1e-12, atol=1e-13)


SMALL = dict(in_modes=(2, 3), hidden_modes=(2, 2))


def _small_cells(rngs):
    kw = dict(**SMALL, param_dtype=jnp.float64, rngs=rngs)
    return [CPGRUCell(6, 4, 3, **kw), TuckerGRUCell(6, 4, (2, 2), **kw), TTGRUCell(6, 4, 2, **kw)]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cp", "tucker", "tt"])
def test_tensorized_cell_equals_dense_cell_of_its_kernels(index):
    cell = _small_cells(nnx.Rngs(0))[index]
    cell.bias[...] = jnp.linspace(-0.5, 0.5, 12)
    x = jax.random.normal(jax.random.key(1), (2, 9, 6), jnp.float64)
    dense = cell.to_dense()
    ref = nnx.RNN(dense)(x)
    np.testing.assert_allclose(nnx.RNN(cell)(x), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cell.sequence(x)[1], ref, rtol=1e-12, atol=1e-13)
    # the recurrent map is the tripled-last-mode layer: its kernel has 3H interleaved columns
    assert dense.recurrent_kernel.shape == (4, 12)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cp", "tucker", "tt"])
def test_init_keeps_gate_variance_of_dense_cell(index):
    x = jax.random.normal(jax.random.key(2), (512, 64))
    h = jax.random.normal(jax.random.key(3), (512, 128))
    dense = GRUCell(64, 128, rngs=nnx.Rngs(0))
    modes = dict(in_modes=(4, 4, 4), hidden_modes=(8, 4, 4))
    for seed in range(2):
        cls, rank = [(CPGRUCell, 20), (TuckerGRUCell, (2, 3, 3)), (TTGRUCell, 4)][index]
        cell = cls(64, 128, rank, **modes, rngs=nnx.Rngs(seed))
        for a, b in [
            (cell.input_map(x), dense.input_map(x)),
            (cell.recurrent_map(h), dense.recurrent_map(h)),
        ]:
            ratio = float(jnp.var(a) / jnp.var(b))
            assert 0.5 < ratio < 2.0, ratio


def test_sequence_matches_rnn_and_accepts_a_carry():
    cell = GRUCell(3, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (2, 5, 3), jnp.float64)
    h0 = jax.random.normal(jax.random.key(1), (2, 4), jnp.float64)
    carry, ys = cell.sequence(x, h0)
    h = h0
    for t in range(5):
        h, y = cell(h, x[:, t])
        np.testing.assert_allclose(ys[:, t], y, rtol=1e-12)
    np.testing.assert_allclose(carry, h, rtol=1e-12)


def test_bad_modes_are_named():
    with pytest.raises(ValueError, match="hidden_modes"):
        CPGRUCell(6, 4, 2, in_modes=(2, 3), hidden_modes=(3, 2), rngs=nnx.Rngs(0))


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cp", "tucker", "tt"])
def test_from_dense_recovers_a_tensorized_cell(index):
    """Compressing the dense twin of a tensorized cell with the same ranks gives it back."""
    cell = _small_cells(nnx.Rngs(0))[index]
    cell.bias[...] = jnp.linspace(-1.0, 1.0, 12)
    rank = [3, (2, 2), 2][index]
    back = (
        type(cell).from_dense(
            cell.to_dense(), rank, **SMALL, maxiter=2000, tol=1e-14, key=jax.random.key(0)
        )
        if index == 0
        else type(cell).from_dense(cell.to_dense(), rank, **SMALL)
    )
    x = jax.random.normal(jax.random.key(1), (2, 9, 6), jnp.float64)
    np.testing.assert_allclose(back.sequence(x)[1], cell.sequence(x)[1], atol=1e-6)
    assert back.input_layer.compression_error < 1e-6 and back.num_params == cell.num_params


def test_from_dense_compresses_a_trained_style_gru_and_reports_errors():
    dense = GRUCell(6, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(3))
    small = TTGRUCell.from_dense(dense, 2, **SMALL)
    k_in, _ = dense.kernels()
    direct = np.linalg.norm(np.asarray(small.kernels()[0] - k_in)) / np.linalg.norm(
        np.asarray(k_in)
    )
    np.testing.assert_allclose(small.input_layer.compression_error, direct, rtol=1e-6)
    assert 0 < direct < 1


def test_initialize_carry_with_an_initializer():
    cell = GRUCell(3, 4, rngs=nnx.Rngs(0))
    assert cell.initialize_carry((2, 3)).shape == (2, 4)
    ones = cell.initialize_carry((2, 3), nnx.Rngs(1), carry_init=nnx.initializers.ones)
    np.testing.assert_array_equal(ones, np.ones((2, 4)))
    drawn = cell.initialize_carry((5, 3), nnx.Rngs(1), carry_init=nnx.initializers.normal(1.0))
    assert drawn.shape == (5, 4) and float(jnp.std(drawn)) > 0.1


def _scan_reference(cell, x, h0):
    """``cell.__call__`` stepped by ``lax.scan``: plain autodiff is the gradient oracle."""
    final, ys = jax.lax.scan(cell, h0, jnp.moveaxis(x, -2, 0))
    return final, jnp.moveaxis(ys, 0, -2)


@pytest.mark.parametrize("materialized_tt", [False, True], ids=["dense", "tt-materialized"])
def test_sequence_gradient_equals_autodiff_of_the_step(materialized_tt):
    """``sequence``'s own reverse pass for a dense recurrent kernel (the dense cell, a TT cell
    with a materialized recurrent layer) gives the gradients of ``lax.scan`` over the cell,
    w.r.t. parameters, inputs and initial carry, also under vmap. (Factorized recurrent layers
    use plain autodiff, checked against finite differences in the contract tests.)"""
    if materialized_tt:
        cell = TTGRUCell(6, 4, 2, **SMALL, param_dtype=jnp.float64, rngs=nnx.Rngs(1))
        cell.recurrent_layer.materialize = True
    else:
        cell = GRUCell(6, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    cell.bias[...] = jnp.linspace(-1.0, 1.0, 12)
    x = jax.random.normal(jax.random.key(0), (2, 7, 6), jnp.float64)
    h0 = jax.random.normal(jax.random.key(1), (2, 4), jnp.float64)
    w = jax.random.normal(jax.random.key(2), (2, 7, 4), jnp.float64)

    def loss(c, x, h0, run):
        final, ys = run(c, x, h0)
        return jnp.sum(jnp.sin(ys) * w) + jnp.sum(final**2)

    grad = lambda run: nnx.jit(nnx.grad(lambda c, x, h0: loss(c, x, h0, run), argnums=(0, 1, 2)))
    got = grad(lambda c, x, h: c.sequence(x, h))(cell, x, h0)
    want = grad(_scan_reference)(cell, x, h0)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)

    if materialized_tt:  # the same reverse pass as the dense cell's: vmapped below once
        return
    per_example = nnx.grad(lambda c, x: jnp.sum(jnp.sin(c.sequence(x)[1])))
    xs = jnp.stack([x, -2 * x])
    batched = nnx.jit(nnx.vmap(per_example, in_axes=(None, 0)))(cell, xs)
    one = nnx.jit(per_example)(cell, xs[1])
    for a, b in zip(jax.tree.leaves(batched), jax.tree.leaves(one), strict=True):
        np.testing.assert_allclose(a[1], b, rtol=1e-10, atol=1e-12)


def test_sequence_of_length_zero_returns_the_carry():
    cell = GRUCell(3, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    h0 = jnp.ones((2, 4), jnp.float64)
    carry, ys = cell.sequence(jnp.zeros((2, 0, 3), jnp.float64), h0)
    np.testing.assert_array_equal(carry, h0)
    assert ys.shape == (2, 0, 4)

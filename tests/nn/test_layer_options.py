"""The nnx.Linear / nnx.Conv / nnx.GRUCell keyword arguments on lrjax's layers: initializers per
factor, bias initializer, precision and dot_general / conv_general_dilated, partitioning
metadata, and the cells' carry_init."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")
from lrjax import nn as lrnn  # noqa: E402

ONES, ZEROS = nnx.initializers.ones, nnx.initializers.zeros
DENSE = [
    ("LowRankLinear", lambda **kw: lrnn.LowRankLinear(6, 4, 2, **kw), 2),
    ("CPLinear", lambda **kw: lrnn.CPLinear(6, 4, 2, in_modes=(2, 3), out_modes=(2, 2), **kw), 4),
    ("TuckerLinear", lambda **kw: lrnn.TuckerLinear(6, 4, 2, in_modes=(2, 3), out_modes=(2, 2), **kw), 5),
    ("TTLinear", lambda **kw: lrnn.TTLinear(6, 4, 2, in_modes=(2, 3), out_modes=(2, 2), **kw), 2),
]  # fmt: skip
CONV = [
    ("SeparableLowRankConv", lambda **kw: lrnn.SeparableLowRankConv(3, 4, 3, 2, **kw), 2),
    ("CPConv", lambda **kw: lrnn.CPConv(3, 4, 3, 2, **kw), 4),
    ("TuckerConv", lambda **kw: lrnn.TuckerConv(3, 4, 3, 2, **kw), 3),
    ("MonochromaticConv", lambda **kw: lrnn.MonochromaticConv(3, 4, 3, 2, **kw), 2),
    ("BiclusterConv", lambda **kw: lrnn.BiclusterConv(4, 4, 3, 2, 2, 1, **kw), 2),
]  # fmt: skip


def _counting(fn):
    calls = []

    def wrapped(*args, **kwargs):  # dot_general's precision is its 4th argument
        calls.append(kwargs["precision"] if "precision" in kwargs else args[3])
        return fn(*args, **kwargs)

    return wrapped, calls


@pytest.mark.parametrize(("name", "make", "n_factors"), DENSE, ids=[c[0] for c in DENSE])
def test_dense_layer_options(name, make, n_factors):
    x = jax.random.normal(jax.random.key(1), (3, 6))
    base = make(rngs=nnx.Rngs(0))
    params = base._param_list()
    assert len(params) == n_factors
    # one initializer for every factor, and one per factor
    ones = make(kernel_init=ONES, bias_init=nnx.initializers.constant(0.5), rngs=nnx.Rngs(0))
    assert all(np.all(np.asarray(p[...]) == 1) for p in ones._param_list())
    np.testing.assert_array_equal(ones.bias[...], 0.5)
    mixed = make(kernel_init=[ZEROS] + [ONES] * (n_factors - 1), rngs=nnx.Rngs(0))
    assert np.all(np.asarray(mixed._param_list()[0][...]) == 0)
    np.testing.assert_array_equal(mixed.kernel_matrix(), 0.0)
    with pytest.raises(
        ValueError, match=f"kernel_init must be one value for every factor or {n_factors}"
    ):
        make(kernel_init=[ONES] * (n_factors + 1), rngs=nnx.Rngs(0))
    # dot_general and precision reach every product, and the result is the default one
    dot, calls = _counting(jax.lax.dot_general)
    for materialize in (False, True):
        calls.clear()
        layer = make(
            dot_general=dot,
            precision=jax.lax.Precision.HIGHEST,
            materialize=materialize,
            rngs=nnx.Rngs(0),
        )
        ref = make(materialize=materialize, rngs=nnx.Rngs(0))
        np.testing.assert_allclose(layer(x), ref(x), rtol=1e-5, atol=1e-6)
        assert calls and set(calls) == {jax.lax.Precision.HIGHEST}
    # metadata lands on every factor (and the bias)
    tagged = make(kernel_metadata={"note": "f"}, bias_metadata={"note": "b"}, rngs=nnx.Rngs(0))
    assert all(p.get_metadata()["note"] == "f" for p in tagged._param_list())
    assert tagged.bias.get_metadata()["note"] == "b"
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['kernel_size'\]"):
        make(kernel_size=3, rngs=nnx.Rngs(0))


def test_default_options_draw_one_key_per_factor_and_none_for_the_bias():
    """Seeded initialisations do not move: with the options at their defaults a layer draws
    exactly one ``rngs.params`` key per factor (none for its zeros bias), as before the options
    existed; a ``bias_init`` draws one more (before the factors' keys)."""
    make = lambda **kw: lrnn.CPLinear(6, 4, 2, in_modes=(2, 3), out_modes=(2, 2), **kw)
    rngs = nnx.Rngs(0)
    a = make(rngs=rngs)
    assert int(rngs.params.count[...]) == len(a._param_list()) == 4
    rngs = nnx.Rngs(0)
    conv = lrnn.CPConv(3, 4, 3, 2, rngs=rngs)
    assert int(rngs.params.count[...]) == len(conv._param_list()) == 4
    rngs = nnx.Rngs(0)
    make(bias_init=nnx.initializers.zeros, rngs=rngs)
    assert int(rngs.params.count[...]) == 5
    # the exact rescaling of lrjax's init: ||W||_F^2 = out_features
    np.testing.assert_allclose(float(jnp.sum(a.kernel_matrix() ** 2)), 4.0, rtol=1e-5)


@pytest.mark.parametrize(("name", "make", "n_factors"), CONV, ids=[c[0] for c in CONV])
def test_conv_layer_options(name, make, n_factors):
    x = jax.random.normal(jax.random.key(1), (2, 6, 5, make(rngs=nnx.Rngs(0)).in_features))
    ones = make(kernel_init=ONES, bias_init=nnx.initializers.constant(0.5), rngs=nnx.Rngs(0))
    assert len(ones._param_list()) == n_factors
    assert all(np.all(np.asarray(p[...]) == 1) for p in ones._param_list())
    np.testing.assert_array_equal(ones.bias[...], 0.5)
    conv, calls = _counting(jax.lax.conv_general_dilated)
    layer = make(conv_general_dilated=conv, precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(layer(x), make(rngs=nnx.Rngs(0))(x), rtol=1e-5, atol=1e-6)
    assert calls and set(calls) == {jax.lax.Precision.HIGHEST}
    tagged = make(kernel_metadata={"note": "f"}, rngs=nnx.Rngs(0))
    assert all(p.get_metadata()["note"] == "f" for p in tagged._param_list())
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        make(dot_general=jax.lax.dot_general, rngs=nnx.Rngs(0))


def test_with_partitioning_shards_the_factors_on_a_mesh():
    mesh = jax.make_mesh((4, 2), ("data", "model"), axis_types=(jax.sharding.AxisType.Auto,) * 2)
    col = nnx.with_partitioning(nnx.initializers.lecun_normal(), (None, "model"))
    row = nnx.with_partitioning(nnx.initializers.lecun_normal(), ("model", None))
    with jax.set_mesh(mesh):
        layer = lrnn.LowRankLinear(8, 6, 2, kernel_init=[col, row], rngs=nnx.Rngs(0))
        assert layer.u[...].sharding.spec == jax.sharding.PartitionSpec(None, "model")
        assert layer.v[...].sharding.spec == jax.sharding.PartitionSpec("model", None)
        assert layer.u.get_metadata()["out_sharding"] == (None, "model")
        x = jnp.ones((4, 8))
        y = nnx.jit(lambda m, x: m(x))(layer, x)
    np.testing.assert_allclose(y, x @ layer.u[...] @ layer.v[...] + layer.bias[...], rtol=1e-5)


CELLS = [
    ("GRUCell", lambda **kw: lrnn.GRUCell(6, 4, **kw)),
    ("CPGRUCell", lambda **kw: lrnn.CPGRUCell(6, 4, 2, in_modes=(2, 3), hidden_modes=(2, 2), **kw)),
    ("TTGRUCell", lambda **kw: lrnn.TTGRUCell(6, 4, 2, in_modes=(2, 3), hidden_modes=(2, 2), **kw)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make"), CELLS, ids=[c[0] for c in CELLS])
def test_cell_options(name, make):
    x = jax.random.normal(jax.random.key(2), (2, 5, 6))
    ref = make(rngs=nnx.Rngs(0))
    dot, calls = _counting(jax.lax.dot_general)
    cell = make(dot_general=dot, precision=jax.lax.Precision.HIGHEST, rngs=nnx.Rngs(0))
    _, want = ref.sequence(x)
    _, got = cell.sequence(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert calls and set(calls) == {jax.lax.Precision.HIGHEST}
    # initializers: input map, recurrent map, bias; carry_init is the default carry
    full = make(kernel_init=ZEROS, recurrent_kernel_init=ZEROS,
                bias_init=nnx.initializers.constant(0.25), carry_init=ONES, rngs=nnx.Rngs(0))  # fmt: skip
    k_in, k_rec = full.kernels()
    np.testing.assert_array_equal(k_in, 0.0)
    np.testing.assert_array_equal(k_rec, 0.0)
    np.testing.assert_array_equal(full.bias[...], 0.25)
    carry = full.initialize_carry((2, 6))
    np.testing.assert_array_equal(carry, 1.0)
    # with zero kernels the gates see only the bias (the recurrent map is 0): from h = 1,
    # h' = (1 - z) n + z h with z = sigmoid(0.25), n = tanh(0.25 + r * 0)
    h, _ = full.sequence(x[:, :1])
    z = jax.nn.sigmoid(0.25)
    n = jnp.tanh(0.25)
    np.testing.assert_allclose(h, (1 - z) * n + z * 1.0, rtol=1e-6)
    tagged = make(
        kernel_metadata={"note": "in"}, recurrent_kernel_metadata={"note": "rec"}, rngs=nnx.Rngs(0)
    )
    notes = {
        v.get_metadata().get("note") for _, v in nnx.iter_graph(tagged) if isinstance(v, nnx.Param)
    }
    assert {"in", "rec"} <= notes
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        make(kernel_size=3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="carry_init must be callable"):
        make(carry_init=3, rngs=nnx.Rngs(0))

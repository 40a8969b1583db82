"""TTEmbedding: a tensor-train embedding table (TensorLy-Torch's FactorizedEmbedding)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")
from lrjax import nn as lrnn  # noqa: E402
from lrjax.tensors import TTMatrix  # noqa: E402


def _table(emb):
    """The table by an independent route: the TT-matrix of the cores, densified, cut to the
    vocabulary."""
    return np.asarray(TTMatrix(tuple(c[...] for c in emb.cores)).to_dense())[: emb.num_embeddings]


@pytest.mark.parametrize(("vocab", "features"), [(256, 16), (1000, 32), (97, 12)])
def test_lookup_equals_the_rows_of_the_table(vocab, features):
    """TensorLy-Torch's test: every index, shuffled, and a (3, n) batch of them, against an
    embedding lookup in the dense table."""
    emb = lrnn.TTEmbedding(vocab, features, 4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    table = _table(emb)
    assert math.prod(emb.row_modes) >= vocab and math.prod(emb.feature_modes) == features
    perm = np.random.default_rng(0).permutation(vocab)
    np.testing.assert_allclose(emb(jnp.asarray(perm)), table[perm], rtol=1e-12, atol=1e-14)
    split = perm[: 3 * (vocab // 5)].reshape(3, -1)
    np.testing.assert_allclose(emb(jnp.asarray(split)), table[split], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(emb.embedding(), table, rtol=1e-12, atol=1e-14)
    assert emb(jnp.asarray(5)).shape == (features,)


def test_parameter_count_and_default_modes():
    emb = lrnn.TTEmbedding(10_000, 64, (6, 7), rngs=nnx.Rngs(0))
    assert emb.row_modes == (25, 20, 20) and emb.feature_modes == (4, 4, 4)
    r, v, f = emb.ranks, emb.row_modes, emb.feature_modes
    assert emb.num_params == sum(r[k] * v[k] * f[k] * r[k + 1] for k in range(3))
    prime = lrnn.TTEmbedding(10_007, 64, 4, rngs=nnx.Rngs(0))  # no exact factors: padded
    assert math.prod(prime.row_modes) >= 10_007 and max(prime.row_modes) <= 22


def test_init_variance_matches_nnx_embed():
    emb = lrnn.TTEmbedding(4096, 64, 8, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    ref = nnx.Embed(4096, 64, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    ratio = float(jnp.var(emb.embedding()) / jnp.var(ref.embedding[...]))
    assert 0.5 < ratio < 2.0, ratio


def test_from_embed_recovers_a_low_tt_rank_table_and_reports_the_error():
    planted = lrnn.TTEmbedding(
        200, 12, 3, row_modes=(5, 5, 8), feature_modes=(2, 3, 2), param_dtype=jnp.float64,
        rngs=nnx.Rngs(1),
    )  # fmt: skip
    table = planted.embedding()
    dense = nnx.Embed(200, 12, param_dtype=jnp.float64, rngs=nnx.Rngs(2))
    dense.embedding[...] = table
    back = lrnn.TTEmbedding.from_embed(dense, 3, row_modes=(5, 5, 8), feature_modes=(2, 3, 2))
    idx = jnp.arange(200)
    np.testing.assert_allclose(back(idx), dense(idx), atol=1e-10)
    assert back.compression_error < 1e-10
    again = lrnn.TTEmbedding.from_embed(back, 3, row_modes=(5, 5, 8), feature_modes=(2, 3, 2))
    np.testing.assert_allclose(again.embedding(), table, atol=1e-10)
    # a random table is not of low TT rank: the error is the TT-SVD's, measured exactly
    noise = jax.random.normal(jax.random.key(3), (97, 12), jnp.float64)
    lossy = lrnn.TTEmbedding.from_embed(noise, 2)
    got = float(jnp.linalg.norm(lossy.embedding() - noise) / jnp.linalg.norm(noise))
    assert lossy.compression_error == pytest.approx(got, rel=1e-12)
    assert 0.1 < got < 1.0
    assert lossy(jnp.arange(97)).shape == (97, 12)
    zero = lrnn.TTEmbedding.from_embed(jnp.zeros((30, 4)), 2)
    assert zero.compression_error == 0.0 and not np.any(np.asarray(zero.embedding()))


def test_attend_is_the_tied_output_layer():
    emb = lrnn.TTEmbedding(60, 8, 3, param_dtype=jnp.float64, rngs=nnx.Rngs(4))
    q = jax.random.normal(jax.random.key(5), (2, 3, 8), jnp.float64)
    np.testing.assert_allclose(emb.attend(q), np.asarray(q) @ _table(emb).T, rtol=1e-12)
    with pytest.raises(ValueError, match="`query` must end in 8 features"):
        emb.attend(jnp.ones((2, 7)))


def test_trains_under_jit_and_out_of_range_indices():
    """A gradient step under nnx.jit moves the looked-up rows toward a target; an index out of
    range raises eagerly and gives NaN under jit (as nnx.Embed's take does)."""
    emb = lrnn.TTEmbedding(60, 8, 3, param_dtype=jnp.float64, rngs=nnx.Rngs(6))
    idx = jnp.array([0, 7, 59])
    target = jnp.ones((3, 8))
    loss = lambda m: jnp.sum((m(idx) - target) ** 2)
    before = float(loss(emb))

    @nnx.jit
    def step(m):
        grads = nnx.grad(loss)(m)
        params = nnx.state(m, nnx.Param)
        nnx.update(m, jax.tree.map(lambda p, g: p - 0.05 * g, params, grads))

    for _ in range(20):
        step(emb)
    assert float(loss(emb)) < 0.5 * before
    with pytest.raises(ValueError, match=r"`inputs` holds index 60, outside \[0, 60\)"):
        emb(jnp.array([1, 60]))
    with pytest.raises(ValueError, match="`inputs` must be integers"):
        emb(jnp.array([1.0]))
    out = jax.jit(lambda i: emb(i))(jnp.array([1, 60, -1]))
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1:]))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"row_modes=.*product is at least 100"):
        lrnn.TTEmbedding(100, 8, 2, row_modes=(4, 4, 4), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"feature_modes=.*product is 8"):
        lrnn.TTEmbedding(100, 8, 2, row_modes=(5, 5, 4), feature_modes=(2, 2, 3), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"feature_modes=.*3 positive integers"):
        lrnn.TTEmbedding(100, 8, 2, row_modes=(5, 5, 4), feature_modes=(2, 4), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="num_embeddings must be a positive integer"):
        lrnn.TTEmbedding(0, 8, 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`ranks\[0\]` must be a positive int"):
        lrnn.TTEmbedding(100, 8, (0, 2), rngs=nnx.Rngs(0))


def test_compress_replaces_an_embedding_and_reports_it():
    """lrjax.nn.compress finds nnx.Embed layers; the report counts the lookup's FLOPs (the
    chain of core slices, against a direct count) and the table's error."""

    class Model(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(1000, 32, param_dtype=jnp.float64, rngs=rngs)
            self.out = nnx.Linear(32, 4, param_dtype=jnp.float64, rngs=rngs)

    model = Model(nnx.Rngs(0))
    policy = {"embed": lambda layer: lrnn.TTEmbedding.from_embed(layer, 4)}
    small, report = lrnn.compress(model, policy)
    assert isinstance(small.embed, lrnn.TTEmbedding) and isinstance(model.embed, nnx.Embed)
    (row,) = report.layers
    assert (row.path, row.before, row.after) == ("embed", "Embed", "TTEmbedding")
    assert row.params_before == 32_000 and row.params_after == small.embed.num_params
    emb = small.embed
    r, f = emb.ranks, emb.feature_modes
    direct = 2 * f[0] * r[1] * f[1] * r[2] + 2 * f[0] * f[1] * r[2] * f[2] * r[3]
    assert (row.flops_before, row.flops_after) == (0, direct)
    got = float(jnp.linalg.norm(emb.embedding() - model.embed.embedding[...]))
    assert row.error == pytest.approx(got / float(jnp.linalg.norm(model.embed.embedding[...])))

"""Low-rank convolutions: equal to the nnx.Conv of their kernel, closed-form counts, exact
recovery of planted low-rank kernels, reported errors, Denton layers, force regularization,
model compression."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

nnx = pytest.importorskip("flax.nnx")

from lrjax.nn import (  # noqa: E402
    BiclusterConv,
    CPConv,
    CPLinear,
    LowRankLinear,
    MonochromaticConv,
    SeparableLowRankConv,
    TuckerConv,
    compress,
    force_potential,
    force_regularization,
    kmeans,
)

F64 = dict(param_dtype=jnp.float64)
KEY = jax.random.key(0)
C, N, KH, KW = 6, 8, 3, 2


def _make(name, rngs, **geo):
    return {
        "separable": lambda: SeparableLowRankConv(C, N, (KH, KW), 3, **geo, **F64, rngs=rngs),
        "cp": lambda: CPConv(C, N, (KH, KW), 4, **geo, **F64, rngs=rngs),
        "tucker": lambda: TuckerConv(C, N, (KH, KW), (3, 4), **geo, **F64, rngs=rngs),
        "mono": lambda: MonochromaticConv(C, N, (KH, KW), 3, **geo, **F64, rngs=rngs),
        "bicluster": lambda: BiclusterConv(
            C, N, (KH, KW), 2, 4, 2, in_perm=[5, 1, 3, 0, 2, 4], out_perm=[7, 6, 5, 4, 0, 1, 2, 3],
            **geo, **F64, rngs=rngs,
        ),
    }[name]()  # fmt: skip


NAMES = ["separable", "cp", "tucker", "mono", "bicluster"]
GEOMETRIES = [
    dict(),
    dict(padding="VALID"),
    dict(strides=2),
    dict(strides=(2, 1), padding=((1, 2), (0, 1))),
]


def _numpy_conv(x, w, strides, padding):
    """Direct NHWC convolution by loops (the oracle), explicit padding pairs."""
    (pt, pb), (pl, pr) = padding
    x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    kh, kw = w.shape[:2]
    oh = (x.shape[1] - kh) // strides[0] + 1
    ow = (x.shape[2] - kw) // strides[1] + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * strides[0] : i * strides[0] + kh, j * strides[1] : j * strides[1] + kw]
            out[:, i, j] = np.einsum("byxc,yxcn->bn", patch, w)
    return out


# every layer with SAME and with explicit padding + stride (checked against direct loops);
# VALID and stride-2 SAME for the layers whose stages split the padding (separable, CP)
CASES = [(n, g) for n in NAMES for g in (GEOMETRIES[0], GEOMETRIES[3])] + [
    (n, g) for n in ("separable", "cp") for g in (GEOMETRIES[1], GEOMETRIES[2])
]


@pytest.mark.parametrize(("name", "geo"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_layer_equals_conv_of_its_kernel(name, geo):
    layer = _make(name, nnx.Rngs(0), **geo)
    layer.bias[...] = jnp.linspace(-1, 1, N)
    x = jax.random.normal(jax.random.key(1), (2, 9, 8, C), jnp.float64)
    ref = layer.to_conv()
    np.testing.assert_allclose(layer(x), ref(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer(x[0]), ref(x[0]), rtol=1e-12, atol=1e-12)  # unbatched
    if geo.get("padding") == ((1, 2), (0, 1)):
        direct = _numpy_conv(np.asarray(x), np.asarray(layer.kernel()), (2, 1), geo["padding"])
        np.testing.assert_allclose(layer(x) - layer.bias[...], direct, rtol=1e-10, atol=1e-12)


def test_parameter_counts():
    r = nnx.Rngs(0)
    assert _make("separable", r).num_params == 3 * (KH * C + KW * N) + N
    assert _make("cp", r).num_params == 4 * (C + KH + KW + N) + N
    assert _make("tucker", r).num_params == C * 3 + KH * KW * 3 * 4 + 4 * N + N
    assert _make("mono", r).num_params == C * 3 + KH * KW * N + N
    assert _make("bicluster", r).num_params == C * 4 * 2 + KH * KW * 2 * 2 * N + N


@pytest.mark.parametrize("name", NAMES)
def test_init_keeps_output_variance_of_dense_conv(name):
    x = jax.random.normal(jax.random.key(2), (16, 12, 12, C))
    ref = float(jnp.var(nnx.Conv(C, N, (KH, KW), rngs=nnx.Rngs(0))(x)))
    for seed in range(3):
        layer = _make(name, nnx.Rngs(seed))
        ratio = float(jnp.var(layer(x.astype(jnp.float64)))) / ref
        assert 0.5 < ratio < 2.0, ratio


def _conv_with(kernel):
    conv = nnx.Conv(C, N, (KH, KW), **F64, rngs=nnx.Rngs(0))
    conv.kernel[...] = jnp.asarray(kernel)
    conv.bias[...] = jnp.linspace(0, 1, N)
    return conv


def _planted(name, rng):
    if name == "separable":  # rank 3 in Tai's (C kh, N kw) matricization
        v, h = rng.standard_normal((KH, C, 3)), rng.standard_normal((KW, 3, N))
        return np.einsum("yck,xkn->yxcn", v, h), lambda conv: SeparableLowRankConv.from_conv(
            conv, 3
        )
    if name == "cp":
        fs = [rng.standard_normal((m, 3)) for m in (KH, KW, C, N)]
        return np.einsum("yr,xr,cr,nr->yxcn", *fs), lambda conv: CPConv.from_conv(conv, 3, key=KEY)
    if name == "tucker":
        core = rng.standard_normal((KH, KW, 2, 3))
        u, v = rng.standard_normal((C, 2)), rng.standard_normal((3, N))
        return np.einsum("yxst,cs,tn->yxcn", core, u, v), lambda conv: TuckerConv.from_conv(
            conv, (2, 3)
        )
    if name == "mono":  # 2 colours shared by the filters
        colors = rng.standard_normal((C, 2))
        spatial = rng.standard_normal((KH, KW, N))
        assign = np.arange(N) % 2
        return np.einsum(
            "yxn,cn->yxcn", spatial, colors[:, assign]
        ), lambda conv: MonochromaticConv.from_conv(conv, 2, key=KEY)
    # bicluster: channel groups {0,2,4}/{1,3,5} x {even, odd} outputs, rank-1 blocks
    # u_g(c) a_h(n) S_gh(y, x): the channels of one group are multiples of one another in every
    # block, the similarity Denton et al.'s biclustering groups by (identifiable whatever the
    # k-means++ draw)
    w = np.zeros((KH, KW, C, N))
    us = [rng.standard_normal(3) for _ in range(2)]
    as_ = [rng.standard_normal(4) for _ in range(2)]
    for gi, ins in enumerate([[0, 2, 4], [1, 3, 5]]):
        for hi, outs in enumerate([[0, 2, 4, 6], [1, 3, 5, 7]]):
            s = rng.standard_normal((KH, KW)) * (1 + gi + 2 * hi)
            block = np.einsum("c,n,yx->yxcn", us[gi], as_[hi], s)
            w[np.ix_(range(KH), range(KW), ins, outs)] = block
    return w, lambda conv: BiclusterConv.from_conv(conv, 2, 2, 1, key=KEY)


@pytest.mark.parametrize("name", NAMES)
def test_from_conv_recovers_planted_kernel(name):
    w, build = _planted(name, np.random.default_rng(3))
    conv = _conv_with(w)
    layer = build(conv)
    np.testing.assert_allclose(layer.kernel(), w, atol=1e-6 * np.abs(w).max())
    assert layer.compression_error < 1e-6
    x = jax.random.normal(jax.random.key(5), (2, 7, 7, C), jnp.float64)
    np.testing.assert_allclose(layer(x), conv(x), atol=1e-6 * float(jnp.abs(conv(x)).max()))


@pytest.mark.parametrize(
    "build",
    [
        lambda c: SeparableLowRankConv.from_conv(c, 2),
        lambda c: CPConv.from_conv(c, 3, key=KEY),
        lambda c: TuckerConv.from_conv(c, (2, 3)),
        lambda c: MonochromaticConv.from_conv(c, 3, key=KEY),
        lambda c: BiclusterConv.from_conv(c, 2, 2, 2, key=KEY),
    ],
    ids=NAMES,
)
def test_reported_error_equals_kernel_error(build):
    w = np.random.default_rng(4).standard_normal((KH, KW, C, N))
    layer = build(_conv_with(w))
    direct = np.linalg.norm(np.asarray(layer.kernel()) - w) / np.linalg.norm(w)
    assert 0.05 < direct < 1
    np.testing.assert_allclose(layer.compression_error, direct, rtol=1e-6)


def test_tai_separable_is_optimal_against_the_svd():
    w = np.random.default_rng(6).standard_normal((KH, KW, C, N))
    s = np.linalg.svd(w.transpose(2, 0, 3, 1).reshape(C * KH, N * KW), compute_uv=False)
    layer = SeparableLowRankConv.from_conv(_conv_with(w), 4)
    np.testing.assert_allclose(layer.compression_error, np.sqrt(np.sum(s[4:] ** 2) / np.sum(s**2)))


def test_kmeans_and_balanced_kmeans():
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 0.1, (5, 2)), rng.normal(5, 0.1, (5, 2))])
    labels = kmeans(pts, 2, key=KEY)
    assert len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1 and labels[0] != labels[5]
    lopsided = np.concatenate([rng.normal(0, 0.1, (6, 2)), rng.normal(5, 0.1, (2, 2))])
    assert np.bincount(kmeans(lopsided, 2, balanced=True, key=KEY)).tolist() == [4, 4]
    with pytest.raises(ValueError, match="divisible"):
        kmeans(pts, 3, balanced=True, key=KEY)


def test_randomness_enters_through_an_explicit_key():
    """k-means (and the Denton constructors on it) need a key; the old integer seed still
    works for one release, with a DeprecationWarning; CP compression takes ``key`` as
    ``cp_als`` does (required only when the rank exceeds a mode size, never a silent key(0))."""
    pts = np.random.default_rng(0).normal(size=(12, 3))
    with pytest.raises(ValueError, match="`key`"):
        kmeans(pts, 3)
    with pytest.warns(DeprecationWarning, match="seed"):
        legacy = kmeans(pts, 3, seed=4)
    with pytest.warns(DeprecationWarning):
        assert np.array_equal(kmeans(pts, 3, seed=4), legacy)  # the seed still decides
    a, b = kmeans(pts, 3, key=jax.random.key(1)), kmeans(pts, 3, key=jax.random.key(1))
    assert np.array_equal(a, b)
    conv = nnx.Conv(3, 4, (3, 3), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="`key`"):
        MonochromaticConv.from_conv(conv, 2)
    with pytest.raises(ValueError, match="`key`"):
        CPConv.from_conv(conv, 5)  # rank 5 > 3 = kh: the random columns need a key
    assert CPConv.from_conv(conv, 5, key=KEY).compression_error is not None
    dense = nnx.Linear(8, 6, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="`key`"):
        CPLinear.from_dense(dense, 5, in_modes=(2, 4), out_modes=(2, 3))


def test_force_regularization_matches_closed_form():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 3, 2, 5))
    params = {"conv": jnp.asarray(w), "bias": jnp.ones(5)}
    tx = force_regularization(0.3)
    upd, _ = tx.update(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
    f = w.reshape(-1, 5).T
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    fn = f / norms
    grad_hat = 5 * fn - fn.sum(0)  # d/dw_hat of 1/2 sum_{i<j} ||w_i - w_j||^2
    grad = (grad_hat - np.sum(grad_hat * fn, 1, keepdims=True) * fn) / norms  # through w / ||w||
    np.testing.assert_allclose(upd["conv"], 0.3 * grad.T.reshape(w.shape), rtol=1e-6)
    np.testing.assert_array_equal(upd["bias"], 0.0)  # only 4-D kernels by default
    # the Lnorm force: sum_j (w_hat_i - w_hat_j) / ||w_hat_i - w_hat_j||
    diff = fn[:, None] - fn[None]
    dist = np.linalg.norm(diff, axis=-1) + np.eye(5)
    g_hat = (diff / dist[..., None]).sum(1)
    g = (g_hat - np.sum(g_hat * fn, 1, keepdims=True) * fn) / norms
    auto = jax.grad(lambda k: force_potential(k, "lnorm"))(jnp.asarray(w))
    np.testing.assert_allclose(auto, g.T.reshape(w.shape), rtol=1e-5, atol=1e-8)


def test_force_pushes_filters_into_a_low_rank_space():
    w = jnp.asarray(np.random.default_rng(2).standard_normal((3, 3, 4, 16)))
    tx = optax.chain(force_regularization(1.0), optax.sgd(0.05))
    params = {"conv": w}
    state = tx.init(params)
    energy = lambda k: float(
        np.sum(np.linalg.svd(np.asarray(k).reshape(-1, 16), compute_uv=False)[:4] ** 2)
        / np.sum(np.asarray(k) ** 2)
    )
    before = energy(w)
    for _ in range(100):
        upd, state = tx.update(jax.tree.map(jnp.zeros_like, params), state, params)
        params = optax.apply_updates(params, upd)
    assert energy(params["conv"]) > before + 0.2  # top-4 subspace holds much more energy
    with pytest.raises(ValueError, match="kind"):
        force_regularization(1.0, "l3")


class _Net(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(C, N, (3, 3), **F64, rngs=rngs)
        self.blocks = nnx.List([nnx.Conv(N, N, (3, 3), **F64, rngs=rngs)])
        self.head = nnx.Linear(N, 10, **F64, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.relu(self.conv(x))
        x = jax.nn.relu(self.blocks[0](x))
        return self.head(x.mean((1, 2)))


def test_compress_replaces_layers_and_reports():
    model = _Net(nnx.Rngs(0))
    kernel_before = np.asarray(model.conv.kernel[...]).copy()
    policy = {
        "conv": lambda c: MonochromaticConv.from_conv(c, 3, key=KEY),
        "blocks/0": lambda c: SeparableLowRankConv.from_conv(c, 6),
        "head": lambda d: LowRankLinear.from_dense(d, 2),
    }
    small, report = compress(model, policy)
    assert isinstance(model.conv, nnx.Conv)  # the caller's model is untouched
    np.testing.assert_array_equal(model.conv.kernel[...], kernel_before)
    assert isinstance(small.conv, MonochromaticConv)
    assert isinstance(small.blocks[0], SeparableLowRankConv)
    assert isinstance(small.head, LowRankLinear)
    rows = {r.path: r for r in report.layers}
    assert rows["conv"].params_before == 9 * C * N + N
    assert rows["conv"].params_after == small.conv.num_params
    np.testing.assert_allclose(rows["blocks/0"].error, small.blocks[0].compression_error)
    x = jax.random.normal(jax.random.key(0), (2, 6, 6, C), jnp.float64)
    assert small(x).shape == model(x).shape
    assert report.model_params_after < report.model_params_before
    assert "blocks/0" in str(report)
    with pytest.raises(ValueError, match="not dense, conv or embedding"):
        compress(model, {"nope": lambda c: c})


def test_compress_with_a_callable_policy():
    model = _Net(nnx.Rngs(0))
    pick = lambda path, layer: (
        SeparableLowRankConv.from_conv(layer, 4) if isinstance(layer, nnx.Conv) else None
    )
    small, report = compress(model, pick)
    assert sorted(r.path for r in report.layers) == ["blocks/0", "conv"]
    assert isinstance(small.head, nnx.Linear)


def test_training_the_compressed_model_leaves_the_original_alone():
    """The layers compress keeps (here the head) are copies: fine-tuning the compressed
    model must not move the caller's weights (they were shared once, by nnx.merge(split))."""
    model = _Net(nnx.Rngs(0))
    head = np.asarray(model.head.kernel[...]).copy()
    small, _ = compress(model, {"conv": lambda c: SeparableLowRankConv.from_conv(c, 6)})
    x = jax.random.normal(jax.random.key(0), (2, 6, 6, C), jnp.float64)
    optimizer = nnx.Optimizer(small, optax.sgd(0.1), wrt=nnx.Param)
    optimizer.update(small, nnx.grad(lambda m: jnp.sum(m(x) ** 2))(small))
    assert not np.allclose(small.head.kernel[...], head)
    np.testing.assert_array_equal(model.head.kernel[...], head)


@pytest.mark.parametrize(
    "shape, size, strides, padding",
    [
        ((2, 7, 6, 5), (3, 1), (1, 1), "SAME"),
        ((2, 7, 6, 5), (1, 3), (1, 2), "SAME"),
        ((2, 7, 6, 5), (3, 3), (2, 2), "VALID"),
        ((2, 8, 9, 4), (3, 3), (2, 1), ((2, 1), (0, 3))),
        ((1, 5, 5, 3), (2, 2), (1, 1), "SAME"),
        ((2, 9, 5), (3,), (2,), ((2, 0),)),
        ((2, 5, 6, 4, 3), (1, 3, 1), (1, 2, 1), "SAME"),
        ((2, 5, 6, 4, 3), (2, 2, 3), (2, 1, 1), "VALID"),
    ],
)
def test_depthwise_stage_equals_the_grouped_convolution(shape, size, strides, padding):
    """The shifted-slice depthwise stage (XLA:CPU's grouped convolutions are slow) against
    lax.conv_general_dilated with one group per channel, values and input gradients."""
    from lrjax.nn._geometry import depthwise_conv, dimension_numbers

    x = jax.random.normal(jax.random.key(0), shape, jnp.float64)
    w = jax.random.normal(jax.random.key(1), (*size, 1, shape[-1]), jnp.float64)

    def grouped(x, w):
        return jax.lax.conv_general_dilated(
            x,
            w,
            strides,
            padding,
            dimension_numbers=dimension_numbers(len(size)),
            feature_group_count=shape[-1],
        )

    np.testing.assert_allclose(depthwise_conv(x, w, strides, padding), grouped(x, w), atol=1e-13)
    g1 = jax.grad(lambda x, w: jnp.sum(jnp.sin(depthwise_conv(x, w, strides, padding))), (0, 1))
    g2 = jax.grad(lambda x, w: jnp.sum(jnp.sin(grouped(x, w))), (0, 1))
    for a, b in zip(g1(x, w), g2(x, w), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


# 1-D and 3-D layers (TensorLy-Torch's FactorizedConv of order 1 and 3): CP and Tucker
ND_SIZES = {1: (3,), 3: (3, 2, 2)}
ND_INPUTS = {1: (2, 11, C), 3: (2, 6, 7, 5, C)}


def _make_nd(name, ndim, rngs=None, **geo):
    rngs = rngs or nnx.Rngs(0)
    size = ND_SIZES[ndim]
    if name == "cp":
        return CPConv(C, N, size, 4, **geo, **F64, rngs=rngs)
    return TuckerConv(C, N, size, (3, 4), **geo, **F64, rngs=rngs)


def _direct_nd(x, w, strides, padding):
    """Direct channels-last convolution of any number of spatial axes by loops over the output
    positions (the oracle), explicit padding pairs."""
    d = x.ndim - 2
    x = np.pad(x, ((0, 0), *padding, (0, 0)))
    size = w.shape[:d]
    out_size = [(x.shape[1 + a] - size[a]) // strides[a] + 1 for a in range(d)]
    out = np.zeros((x.shape[0], *out_size, w.shape[-1]))
    for pos in np.ndindex(*out_size):
        window = zip(pos, strides, size, strict=True)
        patch = x[(slice(None), *(slice(p * s, p * s + k) for p, s, k in window))]
        out[(slice(None), *pos)] = np.tensordot(patch, w, axes=(range(1, d + 2), range(d + 1)))
    return out


def _nd_geometries(ndim):
    pads = ((1, 2), (0, 1), (2, 0))[:ndim]
    strides = (2, 1, 2)[:ndim]
    same = tuple(((k - 1) // 2, k // 2) for k in ND_SIZES[ndim])  # SAME at stride 1
    out = [({}, (1,) * ndim, same), ({"strides": strides, "padding": pads}, strides, pads)]
    if ndim == 1:
        out.append(({"padding": "CAUSAL"}, (1,), ((2, 0),)))
    return out


@pytest.mark.parametrize("ndim", [1, 3])
@pytest.mark.parametrize("name", ["cp", "tucker"])
def test_one_and_three_dimensional_layers_equal_the_direct_convolution(name, ndim):
    x = jax.random.normal(jax.random.key(1), ND_INPUTS[ndim], jnp.float64)
    for geo, strides, pads in _nd_geometries(ndim):
        layer = _make_nd(name, ndim, **geo)
        layer.bias[...] = jnp.linspace(-1, 1, N)
        kernel = np.asarray(layer.kernel())
        assert kernel.shape == (*ND_SIZES[ndim], C, N)
        direct = _direct_nd(np.asarray(x), kernel, strides, pads) + np.linspace(-1, 1, N)
        np.testing.assert_allclose(layer(x), direct, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer(x[0]), direct[0], rtol=1e-10, atol=1e-12)  # unbatched
        np.testing.assert_allclose(layer.to_conv()(x), direct, rtol=1e-10, atol=1e-12)


def test_one_and_three_dimensional_counts_and_init_variance():
    for ndim, size in ND_SIZES.items():
        taps = int(np.prod(size))
        assert _make_nd("cp", ndim).num_params == 4 * (C + sum(size) + N) + N
        assert _make_nd("tucker", ndim).num_params == C * 3 + taps * 3 * 4 + 4 * N + N
        assert _make_nd("cp", ndim).flops_per_position() == 2 * 4 * (C + sum(size) + N)
        x = jax.random.normal(jax.random.key(2), (16, *(12,) * ndim, C), jnp.float64)
        ref = float(jnp.var(nnx.Conv(C, N, size, **F64, rngs=nnx.Rngs(0))(x)))
        for name in ("cp", "tucker"):
            ratio = float(jnp.var(_make_nd(name, ndim, nnx.Rngs(1))(x))) / ref
            assert 0.5 < ratio < 2.0, (name, ndim, ratio)


@pytest.mark.parametrize("ndim", [1, 3])
def test_from_conv_recovers_planted_one_and_three_dimensional_kernels(ndim):
    rng = np.random.default_rng(7)
    size = ND_SIZES[ndim]
    sp = "uvw"[3 - ndim :]
    fs = [rng.standard_normal((m, 3)) for m in (*size, C, N)]
    cp_kernel = np.einsum(",".join(f"{a}r" for a in sp) + f",cr,nr->{sp}cn", *fs)
    core = rng.standard_normal((*size, 2, 3))
    u, v = rng.standard_normal((C, 2)), rng.standard_normal((3, N))
    tucker_kernel = np.einsum(f"{sp}st,cs,tn->{sp}cn", core, u, v)
    padding = "CAUSAL" if ndim == 1 else "SAME"
    x = jax.random.normal(jax.random.key(5), ND_INPUTS[ndim], jnp.float64)
    for w, build in [
        (cp_kernel, lambda conv: CPConv.from_conv(conv, 3, key=KEY)),
        (tucker_kernel, lambda conv: TuckerConv.from_conv(conv, (2, 3))),
    ]:
        conv = nnx.Conv(C, N, size, padding=padding, **F64, rngs=nnx.Rngs(0))
        conv.kernel[...] = jnp.asarray(w)
        layer = build(conv)
        assert layer.kernel_size == size and layer.compression_error < 1e-6
        np.testing.assert_allclose(layer.kernel(), w, atol=1e-6 * np.abs(w).max())
        np.testing.assert_allclose(layer(x), conv(x), atol=1e-6 * float(jnp.abs(conv(x)).max()))


def test_dimension_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"SeparableLowRankConv is a 2-D convolution: kernel_size"):
        SeparableLowRankConv(C, N, (3, 3, 3), 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"CPConv is a 1-, 2- or 3-D convolution: kernel_size"):
        CPConv(C, N, (3, 3, 3, 3), 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"strides must be a positive int or 3 of them"):
        TuckerConv(C, N, (3, 3, 3), 2, strides=(1, 2), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"padding='CAUSAL' is for 1-D convolutions"):
        CPConv(C, N, 3, 2, padding="CAUSAL", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"one \(low, high\) pair per spatial axis \(1\)"):
        CPConv(C, N, (3,), 2, padding=((1, 1), (1, 1)), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"inputs must be \(N, W, 6\) or \(W, 6\)"):
        _make_nd("cp", 1)(jnp.ones((2, 5, 5, C)))
    with pytest.raises(ValueError, match=r"2-D convolution kernel for MonochromaticConv"):
        MonochromaticConv.from_conv(nnx.Conv(C, N, (3,), rngs=nnx.Rngs(0)), 2, key=KEY)

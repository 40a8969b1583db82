"""Denton et al. (NIPS 2014): monochromatic first layers and biclustered low-rank layers.

Both ``from_conv`` constructions are eager (they cluster channels with NumPy k-means); the
layers themselves are ordinary jit/vmap/grad-able NNX modules with static channel maps.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Unpack

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import _checks
from ..linalg import truncated_svd
from ._common import ConvOptions, FactorizedConv
from ._geometry import conv_of, stage_padding
from ._init import check_positive

__all__ = ["BiclusterConv", "MonochromaticConv", "kmeans"]


def kmeans(
    points: np.ndarray,
    k: int,
    *,
    weights: np.ndarray | None = None,
    balanced: bool = False,
    maxiter: int = 50,
    n_init: int = 10,
    key: jax.Array | None = None,
    seed: int | None = None,
    iters: int | None = None,
) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding and restarts; returns the cluster index of each
    point.

    Args:
        points: ``(n, d)`` points.
        k: number of clusters.
        weights: optional ``(n,)`` non-negative point weights for the centroids.
        balanced: give every cluster exactly ``n / k`` points (``n`` must be divisible by
            ``k``); assignment is greedy by distance under that capacity.
        maxiter: the most Lloyd iterations per restart.
        n_init: k-means++ restarts; the clustering of least weighted inertia is kept (as
            scikit-learn's ``n_init``: one draw can stall in a local optimum on few points).
        key: PRNG key of the k-means++ draws (required: the draw is random).
        seed: deprecated integer seed, accepted in place of ``key`` for one release (with a
            ``DeprecationWarning``).
        iters: deprecated name of ``maxiter`` (one release, with a warning).

    Raises:
        ValueError: for a bad ``k``, an unbalanceable ``n``, or no ``key``.

    Examples:
        >>> import jax
        >>> pts = np.array([[0.0], [0.1], [5.0], [5.1]])
        >>> labels = kmeans(pts, 2, key=jax.random.key(0))
        >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
        True
    """
    pts = np.asarray(points, np.float64)
    n = pts.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of points {n}, got {k}")
    if balanced and n % k:
        raise ValueError(f"balanced k-means needs n={n} divisible by k={k}")
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64) + 1e-300
    rng = np.random.default_rng(_numpy_seed(key, seed))
    if iters is not None:
        maxiter = _checks.renamed("maxiter", None, "iters", iters)
    maxiter = _checks.positive_int("maxiter", maxiter)
    n_init = _checks.positive_int("n_init", n_init)
    best, best_cost = None, np.inf
    for _ in range(n_init):  # restarts: keep the clustering of least (weighted) inertia
        labels, cost = _lloyd(pts, w, k, balanced, maxiter, rng)
        if cost < best_cost:
            best, best_cost = labels, cost
    assert best is not None
    return best


def _lloyd(pts, w, k: int, balanced: bool, iters: int, rng) -> tuple[np.ndarray, float]:
    """One k-means++ draw followed by Lloyd iterations; the labels and their inertia."""
    n = pts.shape[0]
    centers = [pts[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((pts[:, None] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centers.append(pts[rng.choice(n, p=p)])
    c = np.array(centers)
    labels = np.zeros(n, int)
    for it in range(iters):
        d2 = ((pts[:, None] - c[None]) ** 2).sum(-1)
        new = _balanced_assign(d2, n // k) if balanced else np.argmin(d2, axis=1)
        if np.array_equal(new, labels) and it > 0:
            break
        labels = new
        for j in range(k):
            members = labels == j
            if members.any():
                c[j] = np.average(pts[members], axis=0, weights=w[members])
    cost = float(np.sum(w * ((pts - c[labels]) ** 2).sum(-1)))
    return labels, cost


def _numpy_seed(key, seed) -> int:
    """The NumPy seed drawn from ``key`` (lrjax's convention: randomness enters through an
    explicit JAX key); a legacy integer ``seed`` is accepted with a deprecation warning."""
    if seed is not None:
        warnings.warn(
            "`seed` is deprecated and will be removed in the next release; pass "
            "`key=jax.random.key(seed)`.",
            DeprecationWarning,
            stacklevel=3,
        )
        if key is None:
            return int(seed)
    key = _checks.prng_key("key", key)
    return int(jax.random.randint(key, (), 0, np.iinfo(np.int32).max))


def _balanced_assign(d2: np.ndarray, capacity: int) -> np.ndarray:
    n, k = d2.shape
    labels = np.full(n, -1)
    room = np.full(k, capacity)
    for flat in np.argsort(d2, axis=None, kind="stable"):
        i, j = divmod(int(flat), k)
        if labels[i] < 0 and room[j] > 0:
            labels[i], room[j] = j, room[j] - 1
    return labels


class MonochromaticConv(FactorizedConv):
    """Denton et al.'s monochromatic approximation of a first (colour) layer.

    Each filter is a spatial kernel times one of ``n_colors`` colour vectors:
    ``W[y, x, c, f] = S[y, x, f] C[c, g(f)]``. The layer projects the input onto the colour
    vectors (a ``1x1`` convolution) and convolves each filter's colour channel with its
    spatial kernel (a depthwise convolution).

    Args:
        in_features: input channels (3 for RGB).
        out_features: filters ``F``.
        kernel_size, strides, padding, use_bias, dtype, param_dtype, rngs, **options: as
            for :class:`SeparableLowRankConv` (factors: colour vectors, then spatial filters).
        n_colors: number of colour vectors ``K``.
        assignment: colour index ``g(f)`` of each filter (default ``f mod K``).

    Examples:
        >>> from flax import nnx
        >>> MonochromaticConv(3, 16, 5, 4, rngs=nnx.Rngs(0)).num_params  # 3*4 + 25*16 + 16
        428

    References:
        Denton, Zaremba, Bruna, LeCun & Fergus, "Exploiting linear structure within
        convolutional networks for efficient evaluation", NIPS 2014, Section 3.2.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        n_colors: int,
        *,
        assignment: Sequence[int] | None = None,
        strides: int | Sequence[int] = 1,
        padding="SAME",
        use_bias: bool = True,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[ConvOptions],
    ):
        opts = self._setup(
            in_features,
            out_features,
            kernel_size,
            strides,
            padding,
            use_bias,
            dtype,
            param_dtype,
            rngs,
            options,
            dims=(2,),
        )
        self.n_colors = check_positive("n_colors", n_colors)
        if assignment is None:
            assignment = [f % n_colors for f in range(out_features)]
        self.assignment = tuple(int(a) for a in assignment)
        if len(self.assignment) != out_features or not all(
            0 <= a < n_colors for a in self.assignment
        ):
            raise ValueError(
                f"assignment must give each of the {out_features} filters a colour in "
                f"0..{n_colors - 1}, got {assignment!r}"
            )
        kh, kw = self.kernel_size
        shapes = [(1, 1, in_features, n_colors), (kh, kw, 1, out_features)]
        self.color, self.spatial = self._init_parts(rngs, shapes, 1, opts)

    def _param_list(self):
        return [self.color, self.spatial]

    def _forward(self, x, parts):
        color, spatial = parts
        z = self._conv(x, color)[..., np.asarray(self.assignment)]
        return self._conv(
            z,
            spatial,
            self.strides,
            stage_padding(self.padding, (0, 1), 2),
            groups=self.out_features,
        )

    def _kernel(self, parts):
        color, spatial = parts
        return (
            spatial[:, :, 0][:, :, None, :]
            * color[0, 0][:, np.asarray(self.assignment)][None, None]
        )

    def flops_per_position(self) -> int:
        kh, kw = self.kernel_size
        return 2 * (self.in_features * self.n_colors + kh * kw * self.out_features)

    @classmethod
    def from_conv(
        cls, conv, n_colors: int, *, key: jax.Array | None = None, seed: int | None = None
    ) -> MonochromaticConv:
        """Rank-1 (spatial x colour) SVD of every filter, k-means of the colour vectors
        (weighted by the filters' energy), then the least-squares spatial kernel of each
        filter for its cluster's colour. ``compression_error`` is the relative kernel error.
        ``key`` seeds the k-means++ draw (required; ``seed`` is its deprecated integer form)."""
        kernel, bias, geo = conv_of(conv, (2,), cls.__name__)
        kh, kw, c, n = kernel.shape
        w = np.asarray(kernel, np.float64).reshape(kh * kw, c, n).transpose(2, 0, 1)  # (F, s, c)
        _, s, vt = np.linalg.svd(w, full_matrices=False)
        colors = vt[:, 0, :]  # (F, c), unit norm
        colors *= np.where(colors[np.arange(n), np.abs(colors).argmax(1)] < 0, -1.0, 1.0)[:, None]
        labels = kmeans(colors, n_colors, weights=s[:, 0] ** 2, key=key, seed=seed)
        centers = np.stack([
            np.average(colors[labels == j], axis=0, weights=s[labels == j, 0] ** 2 + 1e-300)
            if (labels == j).any() else np.eye(c)[0]
            for j in range(n_colors)
        ])  # fmt: skip
        cf = centers[labels]  # (F, c)
        spatial = np.einsum("fsc,fc->fs", w, cf) / np.sum(cf * cf, axis=1, keepdims=True)
        values = [centers.T[None, None], spatial.T.reshape(kh, kw, 1, n)]
        out = cls(c, n, (kh, kw), n_colors, assignment=labels.tolist(), **geo,
                  use_bias=bias is not None, param_dtype=kernel.dtype,
                  rngs=nnx.Rngs(0))  # fmt: skip
        approx = out._kernel([jnp.asarray(v, kernel.dtype) for v in values])
        error = jnp.linalg.norm(approx - kernel) / jnp.linalg.norm(kernel)
        return out._load(values, bias, error)


class BiclusterConv(FactorizedConv):
    """Denton et al.'s biclustered low-rank convolution for higher layers.

    Input channels are split into ``G`` groups and output channels into ``H`` groups; every
    ``(g, h)`` block of the kernel, reshaped to ``(C/G, kh kw N/H)``, has rank ``K``:
    a ``1x1`` grouped projection to ``G H K`` channels, then a grouped ``kh x kw``
    convolution per output group.

    The arguments not listed here are as for :class:`SeparableLowRankConv`: ``in_features``,
    ``out_features``, ``kernel_size``, ``strides``, ``padding``, ``use_bias``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (:class:`lrjax.nn.ConvOptions`, factors in
    the order of their stages).

    Args:
        in_groups: ``G`` (divides ``in_features``).
        out_groups: ``H`` (divides ``out_features``).
        rank: ``K`` per block.
        in_perm: input channels in group order (default identity): group ``g`` is
            ``in_perm[g C/G : (g+1) C/G]``.
        out_perm: output channels in group order (default identity).

    Examples:
        >>> from flax import nnx
        >>> BiclusterConv(16, 32, 3, 2, 4, 2, rngs=nnx.Rngs(0)).num_params  # 16*8 + 9*4*32 + 32
        1312

    References:
        Denton et al., NIPS 2014, Section 3.3 (biclustering + SVD approximation).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        in_groups: int,
        out_groups: int,
        rank: int,
        *,
        in_perm: Sequence[int] | None = None,
        out_perm: Sequence[int] | None = None,
        strides: int | Sequence[int] = 1,
        padding="SAME",
        use_bias: bool = True,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[ConvOptions],
    ):
        opts = self._setup(
            in_features,
            out_features,
            kernel_size,
            strides,
            padding,
            use_bias,
            dtype,
            param_dtype,
            rngs,
            options,
            dims=(2,),
        )
        self.in_groups = check_positive("in_groups", in_groups)
        self.out_groups = check_positive("out_groups", out_groups)
        self.rank = check_positive("rank", rank)
        if in_features % in_groups or out_features % out_groups:
            raise ValueError(
                f"in_groups={in_groups} must divide in_features={in_features} and "
                f"out_groups={out_groups} must divide out_features={out_features}"
            )
        self.in_perm = _perm("in_perm", in_perm, in_features)
        self.out_perm = _perm("out_perm", out_perm, out_features)
        (kh, kw), g, h, k = self.kernel_size, in_groups, out_groups, rank
        shapes = [(1, 1, in_features // g, g * h * k), (kh, kw, g * k, out_features)]
        self.project, self.spatial = self._init_parts(rngs, shapes, g * k, opts)

    def _param_list(self):
        return [self.project, self.spatial]

    def _forward(self, x, parts):
        proj, spatial = parts
        g, h, k = self.in_groups, self.out_groups, self.rank
        z = self._conv(x[..., np.asarray(self.in_perm)], proj, groups=g)  # channels (g, h, k)
        z = z.reshape(*z.shape[:-1], g, h, k).swapaxes(-3, -2).reshape(*z.shape[:-1], g * h * k)
        y = self._conv(z, spatial, self.strides, stage_padding(self.padding, (0, 1), 2), groups=h)
        return y[..., np.argsort(self.out_perm)]

    def _kernel(self, parts):
        proj, spatial = parts
        (kh, kw), g, h, k = self.kernel_size, self.in_groups, self.out_groups, self.rank
        cg, nh = self.in_features // g, self.out_features // h
        p = proj[0, 0].reshape(cg, g, h, k)  # (c', g, h, k)
        s = spatial.reshape(kh, kw, g, k, h, nh)  # group h reads channels (g, k)
        w = jnp.einsum("cghk,yxgkhn->yxgchn", p, s).reshape(
            kh, kw, self.in_features, self.out_features
        )
        w = w[:, :, np.argsort(self.in_perm)]
        return w[:, :, :, np.argsort(self.out_perm)]

    def flops_per_position(self) -> int:
        kh, kw = self.kernel_size
        return 2 * (self.in_features * self.out_groups * self.rank
                    + kh * kw * self.in_groups * self.rank * self.out_features)  # fmt: skip

    @classmethod
    def from_conv(
        cls,
        conv,
        in_groups: int,
        out_groups: int,
        rank: int,
        *,
        key: jax.Array | None = None,
        seed: int | None = None,
    ) -> BiclusterConv:
        """Balanced k-means of the input channels (on the directions of their kernel slices, so
        that proportional channels group together) and of the output channels, then the
        rank-``K`` truncated SVD of every block. ``compression_error`` is the relative kernel
        error from the discarded singular values of all blocks. ``key`` seeds the two k-means++
        draws (required; ``seed`` is its deprecated integer form)."""
        kernel, bias, geo = conv_of(conv, (2,), cls.__name__)
        kh, kw, c, n = kernel.shape
        w = np.asarray(kernel, np.float64)
        in_feat = _direction(w.transpose(2, 0, 1, 3).reshape(c, -1))
        out_feat = _direction(w.transpose(3, 0, 1, 2).reshape(n, -1))
        k_in, k_out = (None, None) if key is None else jax.random.split(key)
        in_lab = kmeans(in_feat, in_groups, balanced=True, key=k_in, seed=seed)
        out_lab = kmeans(out_feat, out_groups, balanced=True, key=k_out, seed=seed)
        in_perm, out_perm = np.argsort(in_lab, kind="stable"), np.argsort(out_lab, kind="stable")
        cg, nh, k = c // in_groups, n // out_groups, rank
        wp = jnp.asarray(w[:, :, in_perm][:, :, :, out_perm], kernel.dtype)
        proj = jnp.zeros((cg, in_groups, out_groups, k), kernel.dtype)
        spatial = jnp.zeros((kh, kw, in_groups, k, out_groups, nh), kernel.dtype)
        tail = 0.0
        for gi in range(in_groups):
            for hi in range(out_groups):
                block = wp[:, :, gi * cg : (gi + 1) * cg, hi * nh : (hi + 1) * nh]
                m = block.transpose(2, 0, 1, 3).reshape(cg, kh * kw * nh)
                u, s, vt = truncated_svd(m, k)
                tail += float(jnp.sum(m * m) - jnp.sum(s * s))
                proj = proj.at[:, gi, hi].set(u * s)
                spatial = spatial.at[:, :, gi, :, hi].set(
                    vt.reshape(k, kh, kw, nh).transpose(1, 2, 0, 3)
                )
        values = [
            proj.reshape(1, 1, cg, in_groups * out_groups * k),
            spatial.reshape(kh, kw, in_groups * k, n),
        ]
        error = np.sqrt(max(tail, 0.0) / float(jnp.sum(wp * wp)))
        out = cls(c, n, (kh, kw), in_groups, out_groups, rank, in_perm=in_perm.tolist(),
                  out_perm=out_perm.tolist(), **geo, use_bias=bias is not None,
                  param_dtype=kernel.dtype, rngs=nnx.Rngs(0))  # fmt: skip
        return out._load(values, bias, error)


def _direction(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm with their largest-magnitude entry positive: channels that are
    multiples of one another (the structure a low-rank block has) get the same point."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit = rows / np.where(norms > 0, norms, 1.0)
    sign = np.sign(unit[np.arange(len(unit)), np.abs(unit).argmax(1)])
    return unit * np.where(sign == 0, 1.0, sign)[:, None]


def _perm(name: str, perm, n: int) -> tuple[int, ...]:
    if perm is None:
        return tuple(range(n))
    perm = tuple(int(p) for p in perm)
    if sorted(perm) != list(range(n)):
        raise ValueError(f"{name} must be a permutation of 0..{n - 1}, got {perm!r}")
    return perm

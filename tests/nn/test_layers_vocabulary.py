"""Layers and decompositions share one rank normaliser: the same forms, the same errors."""

import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax import nn as lrnn

nnx = pytest.importorskip("flax.nnx")


@pytest.mark.parametrize("ranks", [2, (2, 2), (1, 2, 2, 1)])
def test_tt_layer_and_tt_svd_take_the_same_rank_forms(ranks):
    layer = lrnn.TTLinear(8, 8, ranks, in_modes=(2, 2, 2), out_modes=(2, 2, 2), rngs=nnx.Rngs(0))
    assert layer.ranks == (1, 2, 2, 1)
    tt = lrjax.tt_svd(jnp.asarray(np.random.default_rng(0).random((4, 4, 4))), ranks)
    assert tt.rank == (1, 2, 2, 1)


@pytest.mark.parametrize("bad", [(2, 2, 2, 2, 2), (2, 0), (2, 2, 2, 1)])
def test_tt_layer_and_tt_svd_reject_the_same_ranks_alike(bad):
    x = jnp.ones((4, 4, 4))
    with pytest.raises(ValueError) as dec:
        lrjax.tt_svd(x, bad)
    with pytest.raises(ValueError) as lay:
        lrnn.TTLinear(8, 8, bad, in_modes=(2, 2, 2), out_modes=(2, 2, 2), rngs=nnx.Rngs(0))
    # one message, up to the argument's name and the shape the decomposition knows
    strip = lambda e: (
        str(e.value).replace("`max_rank", "`ranks").replace(" for shape (4, 4, 4)", "")
    )
    assert strip(dec) == strip(lay)


def test_tucker_layer_ranks_forms_and_errors():
    make = lambda r: lrnn.TuckerLinear(6, 6, r, in_modes=(2, 3), out_modes=(3, 2), rngs=nnx.Rngs(0))
    assert (make(2).in_ranks, make(2).out_ranks) == ((2, 2), (2, 2))
    assert (make((1, 2)).in_ranks, make((1, 2)).out_ranks) == ((1, 2), (1, 2))
    assert (make((1, 2, 3, 1)).in_ranks, make((1, 2, 3, 1)).out_ranks) == ((1, 2), (3, 1))
    with pytest.raises(ValueError, match=r"`ranks` must be an int or one entry per mode \(4\)"):
        make((1, 2, 3))
    with pytest.raises(ValueError, match=r"`ranks\[1\]` must be a positive int, got 0"):
        make((1, 0))

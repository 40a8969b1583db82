"""Shared jaxtyping aliases for lrjax's public signatures.

Shapes are documented, not checked at run time; the tests check them with jaxtyping.
"""

from __future__ import annotations

from typing import TypeAlias

import jax
from jaxtyping import Array, Float, Int, Shaped

__all__ = ["Array", "IntScalar", "Key", "Matrix", "Scalar", "Tensor", "Vector"]

Matrix: TypeAlias = Float[Array, "m n"]
Tensor: TypeAlias = Float[Array, "*dims"]
Vector: TypeAlias = Float[Array, " n"]
Scalar: TypeAlias = Float[Array, ""]
IntScalar: TypeAlias = Int[Array, ""]
Key: TypeAlias = Shaped[jax.Array, ""]

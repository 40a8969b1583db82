"""Imaging models built on lrjax's solvers: non-local group low-rank denoising (block matching,
group SVT / Tucker / CP priors, aggregation), low rank + sparse + illumination background
modelling, and face coding with a low-rank + sparse error (ridge-coded, and LR-LUM's sparse
code with a weighted-nuclear structured error), TLISD's tensor low rank + invariant sparse
+ illumination decomposition, and LLRT's multispectral denoising."""

from ._group import CPPrior as CPPrior
from ._group import TuckerPrior as TuckerPrior
from ._group import WNNMPrior as WNNMPrior
from ._group import group_denoise as group_denoise
from ._llrt import LLRTResult as LLRTResult
from ._llrt import llrt_denoise as llrt_denoise
from ._llrt import spectral_hyper_laplacian as spectral_hyper_laplacian
from ._lrlum import LRLUMResult as LRLUMResult
from ._lrlum import lr_lum_coding as lr_lum_coding
from ._models import IlluminationRPCAResult as IlluminationRPCAResult
from ._models import StructuredCodingResult as StructuredCodingResult
from ._models import class_residuals as class_residuals
from ._models import illumination_robust_pca as illumination_robust_pca
from ._models import structured_error_coding as structured_error_coding
from ._patches import aggregate_patches as aggregate_patches
from ._patches import block_match as block_match
from ._patches import extract_patches as extract_patches
from ._patches import patch_grid as patch_grid
from ._tlisd import TLISDResult as TLISDResult
from ._tlisd import tlisd as tlisd

__all__ = [
    "CPPrior",
    "IlluminationRPCAResult",
    "LLRTResult",
    "LRLUMResult",
    "StructuredCodingResult",
    "TLISDResult",
    "TuckerPrior",
    "WNNMPrior",
    "aggregate_patches",
    "block_match",
    "class_residuals",
    "extract_patches",
    "group_denoise",
    "illumination_robust_pca",
    "llrt_denoise",
    "lr_lum_coding",
    "patch_grid",
    "spectral_hyper_laplacian",
    "structured_error_coding",
    "tlisd",
]

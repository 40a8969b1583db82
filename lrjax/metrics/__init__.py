"""Evaluation metrics, one module per topic: piano rolls (``frame_stats``, ``nll_per_frame``,
``frame_accuracy``), image quality (``psnr``, ``ssim``, ``ergas``) and detection
(``detection_stats``, ``f_measure``), and the congruence of CP factors
(``congruence_coefficient``), and regression scores (``mse``, ``rmse``, ``r2_score``,
``correlation``, ``reflective_correlation``). Every metric is a jit/vmap/grad-able JAX function with
checked arguments."""

from ..tensors._matching import congruence_coefficient as congruence_coefficient
from ._detection import DetectionStats as DetectionStats
from ._detection import detection_stats as detection_stats
from ._detection import f_measure as f_measure
from ._imaging import ergas as ergas
from ._imaging import psnr as psnr
from ._imaging import ssim as ssim
from ._music import FrameStats as FrameStats
from ._music import frame_accuracy as frame_accuracy
from ._music import frame_stats as frame_stats
from ._music import nll_per_frame as nll_per_frame
from ._regression import correlation as correlation
from ._regression import mse as mse
from ._regression import r2_score as r2_score
from ._regression import reflective_correlation as reflective_correlation
from ._regression import rmse as rmse

__all__ = [
    "DetectionStats",
    "FrameStats",
    "congruence_coefficient",
    "correlation",
    "detection_stats",
    "ergas",
    "f_measure",
    "frame_accuracy",
    "frame_stats",
    "mse",
    "nll_per_frame",
    "psnr",
    "r2_score",
    "reflective_correlation",
    "rmse",
    "ssim",
]

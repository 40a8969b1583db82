"""Low-rank metric learning: FLRML (Liu, Han, Liu & Gu, NeurIPS 2019) on the Stiefel
manifold, an LMNN-style low-rank triplet baseline, triplets from labels, jitted k-NN
classification, and the manifold tools (Riemannian gradient, Cayley and QR retractions)."""

from ._common import unit_rows as unit_rows
from ._flrml import FLRMLResult as FLRMLResult
from ._flrml import flrml as flrml
from ._neighbors import knn_accuracy as knn_accuracy
from ._neighbors import knn_predict as knn_predict
from ._neighbors import triplets_from_labels as triplets_from_labels
from ._stiefel import cayley_retraction as cayley_retraction
from ._stiefel import qr_retraction as qr_retraction
from ._stiefel import stiefel_gradient as stiefel_gradient
from ._triplet import TripletMetricResult as TripletMetricResult
from ._triplet import triplet_loss as triplet_loss
from ._triplet import triplet_metric as triplet_metric

__all__ = [
    "FLRMLResult",
    "TripletMetricResult",
    "cayley_retraction",
    "flrml",
    "knn_accuracy",
    "knn_predict",
    "qr_retraction",
    "stiefel_gradient",
    "triplet_loss",
    "triplet_metric",
    "triplets_from_labels",
    "unit_rows",
]

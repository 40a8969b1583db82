"""Low-rank metric learning on Extended Yale B (FLRML, Liu et al., NeurIPS 2019)."""

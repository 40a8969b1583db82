"""Polyphonic music: next-frame prediction with dense and tensorized GRUs (Tjandra et al. 2018)."""

"""Low-rank bandits for dynamic pricing (Mueller, Syrgkanis & Taddy, NeurIPS 2019)."""

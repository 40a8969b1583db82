"""The published table the polyphonic runs are compared with."""

# Table 1 of Tjandra, Sakti & Nakamura (IJCNN 2018): test NLL, test ACC %.
PUBLISHED = {
    "gru": ("GRU", 1_181_184, {"nottingham": (3.369, 71.1), "jsb_chorales": (8.32, 30.24),
                               "piano_midi": (7.53, 27.19), "musedata": (7.12, 36.30)}),
    "cp": ("CP-GRU r=110", 11_656, {"nottingham": (3.34, 70.42), "jsb_chorales": (8.41, 29.45),
                                    "piano_midi": (7.60, 27.36), "musedata": (7.18, 36.89)}),
    "tucker": ("Tucker-GRU 2,3,3,4", 12_184, {"nottingham": (3.41, 70.23),
                                             "jsb_chorales": (8.43, 29.03),
                                             "piano_midi": (7.69, 25.26),
                                             "musedata": (7.43, 33.63)}),
    "tt": ("TT-GRU 1,9,9,9,1", 8_448, {"nottingham": (3.35, 70.82), "jsb_chorales": (8.36, 29.32),
                                       "piano_midi": (7.58, 27.62), "musedata": (7.20, 37.81)}),
}  # fmt: skip

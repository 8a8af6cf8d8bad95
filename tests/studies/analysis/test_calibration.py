"""Calibration, fast version (the benchmark runs 200 replications): with participant and item
random effects, two-way bootstrap intervals cover the true share; naive Wilson ones do not."""

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from studies.analysis.simulate import bootstrap_interval, simulate_votes, true_shares

PREFS = {"foley_music": 0.45, "wavenet": 0.2, "samplernn": 0.2, "gan": 0.15}
DESIGN = dict(participants=30, trials=20, items=24, participant_sd=0.8, item_sd=0.8)


def test_bootstrap_intervals_cover_the_true_share_and_wilson_undercovers():
    truth = true_shares(PREFS, DESIGN["participant_sd"], DESIGN["item_sd"])
    systems = list(PREFS)
    ours, naive = [], []
    for r in range(40):
        frame = simulate_votes(PREFS, seed=1000 + r, **DESIGN)
        shares, low, high = bootstrap_interval(frame, systems, b=300, seed=r)
        ours.append((low <= truth) & (truth <= high))
        n = len(frame)
        w = np.array([proportion_confint(round(p * n), n, method="wilson") for p in shares])
        naive.append((w[:, 0] <= truth) & (truth <= w[:, 1]))
    ours, naive = np.mean(ours), np.mean(naive)
    assert ours >= 0.88, ours
    assert naive < ours - 0.1, (naive, ours)

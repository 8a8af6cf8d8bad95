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


def test_per_instrument_intervals_at_2_4_and_8_items_per_instrument():
    """Per-instrument scopes of the analysis: with 4 or 8 items per instrument the intervals
    cover; with 2 they under-cover, and the report gives no interval for them."""
    from studies.analysis.qc import QCSettings
    from studies.analysis.report import analyze

    truth = true_shares(PREFS, 0.5, 0.5)
    cats = ("piano", "violin", "cello", "guitar")
    coverage, flagged = {}, {}
    for per_category in (2, 4, 8):
        hits, few = [], []
        for r in range(30):
            frame = simulate_votes(
                PREFS, participants=30, trials=8, items=4 * per_category, participant_sd=0.5,
                item_sd=0.5, categories=cats, seed=7000 + 100 * per_category + r,
            )  # fmt: skip
            summary = analyze(frame, qc=QCSettings(), b=300, seed=r)
            for scope, est in summary["criteria"]["overall"].items():
                if scope == "all":
                    continue
                few.append(est["too_few_items"])
                low = np.array([est["systems"][s]["ci_low"] for s in PREFS])
                high = np.array([est["systems"][s]["ci_high"] for s in PREFS])
                hits.append(np.mean((low <= truth) & (truth <= high)))
        coverage[per_category], flagged[per_category] = np.mean(hits), all(few)
    assert coverage[4] >= 0.93 and coverage[8] >= 0.93, coverage
    assert coverage[2] < 0.95, coverage  # why 2-item scopes get no interval
    assert flagged == {2: True, 4: False, 8: False}

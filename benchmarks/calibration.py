"""Interval calibration, long version: 200 simulated studies with participant and item random
effects; coverage of the true population share by the two-way cluster bootstrap (ours) and by
naive Wilson intervals, at nominal 95%. Then the per-instrument scopes of the whole analysis at
2, 4, 8 and 16 items per instrument (4 instruments, 30 participants x 8 trials, sd 0.5/0.5):
their coverage, and whether the report gives them an interval (MIN_ITEMS_FOR_INTERVAL).

    DJANGO_SETTINGS_MODULE=evalsite.settings .venv/bin/python benchmarks/calibration.py
"""

import argparse

import django
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    django.setup()
    from statsmodels.stats.proportion import proportion_confint

    from studies.analysis.simulate import bootstrap_interval, simulate_votes, true_shares

    prefs = {"foley_music": 0.45, "wavenet": 0.2, "samplernn": 0.2, "gan": 0.15}
    designs = [
        dict(participants=60, trials=20, items=80, participant_sd=0.8, item_sd=0.8),
        dict(participants=30, trials=40, items=40, participant_sd=0.5, item_sd=1.0),
    ]
    print(f"{'design':<44} {'system':<12} {'true':>6} {'ours':>6} {'wilson':>7}")
    for design in designs:
        truth = true_shares(prefs, design["participant_sd"], design["item_sd"])
        ours, naive = [], []
        for r in range(args.replications):
            frame = simulate_votes(prefs, seed=50_000 + r, **design)
            shares, low, high = bootstrap_interval(frame, list(prefs), b=args.bootstrap, seed=r)
            ours.append((low <= truth) & (truth <= high))
            n = len(frame)
            w = np.array([proportion_confint(round(p * n), n, method="wilson") for p in shares])
            naive.append((w[:, 0] <= truth) & (truth <= w[:, 1]))
        ours, naive = np.mean(ours, axis=0), np.mean(naive, axis=0)
        label = (
            f"{design['participants']}p x {design['trials']}t, {design['items']} items, "
            f"sd {design['participant_sd']}/{design['item_sd']}"
        )
        for i, s in enumerate(prefs):
            print(f"{label:<44} {s:<12} {truth[i]:>6.3f} {ours[i]:>6.3f} {naive[i]:>7.3f}")
    per_instrument(prefs, args.replications, args.bootstrap)


def per_instrument(prefs: dict, replications: int, b: int) -> None:
    from studies.analysis.qc import QCSettings
    from studies.analysis.report import analyze
    from studies.analysis.simulate import simulate_votes, true_shares

    truth = true_shares(prefs, 0.5, 0.5)
    cats = ("piano", "violin", "cello", "guitar")
    print(
        f"\n{'items per instrument':>20} {'per-instrument coverage':>24} {'all':>6} "
        f"{'interval shown':>15}"
    )
    for per_category in (2, 4, 8, 16):
        scoped, overall, shown = [], [], []
        for r in range(replications):
            frame = simulate_votes(
                prefs, participants=30, trials=8, items=4 * per_category, participant_sd=0.5,
                item_sd=0.5, categories=cats, seed=90_000 + 1000 * per_category + r,
            )  # fmt: skip
            summary = analyze(frame, qc=QCSettings(), b=b, seed=r)
            for scope, est in summary["criteria"]["overall"].items():
                low = np.array([est["systems"][s]["ci_low"] for s in prefs])
                high = np.array([est["systems"][s]["ci_high"] for s in prefs])
                hit = np.mean((low <= truth) & (truth <= high))
                (overall if scope == "all" else scoped).append(hit)
                if scope != "all":
                    shown.append(not est["too_few_items"])
        print(
            f"{per_category:>20} {np.mean(scoped):>24.3f} {np.mean(overall):>6.3f} "
            f"{'yes' if all(shown) else 'no':>15}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Interval calibration of the designs other than best_of, long version: simulated studies
with participant and item random effects (studies.analysis.simulate_designs), coverage of the
population value at nominal 95% by each analysis's two-way cluster bootstrap interval, per
system, and the naive interval beside it where the analysis reports one (Wilson for
real_or_generated, 1.96 sd / sqrt(n) for rating).

    DJANGO_SETTINGS_MODULE=evalsite.settings .venv/bin/python benchmarks/design_calibration.py
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
    from studies.analysis import pairwise, ratings, real_or_generated
    from studies.analysis.qc import QCSettings
    from studies.analysis.simulate_designs import population_values, simulate_design_votes

    qc = QCSettings(min_trial_seconds=0.0)
    quality = {"ref": 0.0, "fm": -0.4, "wn": -1.5, "gan": -2.0}
    scores = {"ref": 4.4, "fm": 3.5, "wn": 2.5, "gan": 2.1}
    shape = dict(participants=30, trials=10, items=24)
    print(f"{'design':<18} {'sd (p/i)':>9} {'system':<6} {'true':>7} {'ours':>6} {'naive':>6}")
    for design in ("real_or_generated", "pairwise", "rating"):
        for sd in (0.3, 0.8):
            q = scores if design == "rating" else quality
            kw = dict(participant_sd=sd, item_sd=sd)
            truth = population_values(design, q, reference="ref", **kw)
            hits = {s: [] for s in truth}
            naive = {s: [] for s in truth}
            for r in range(args.replications):
                frame = simulate_design_votes(
                    design, q, reference="ref", seed=70_000 + r, **shape, **kw
                )
                if design == "real_or_generated":
                    est = real_or_generated.analyze(frame, qc=qc, b=args.bootstrap, seed=r)
                elif design == "pairwise":
                    est = pairwise.analyze(frame, qc=qc, b=args.bootstrap, seed=r)
                else:
                    est = ratings.analyze(frame, qc=qc, b=args.bootstrap, seed=r, mixed=False)
                est = est["criteria"]["overall"]["all"]
                for s, value in truth.items():
                    e = est["bradley_terry"][s] if design == "pairwise" else est[s]
                    hits[s].append(e["ci_low"] <= value <= e["ci_high"])
                    if design == "real_or_generated":
                        naive[s].append(e["wilson_low"] <= value <= e["wilson_high"])
                    elif design == "rating":
                        half = e["naive_ci_half_width"]
                        naive[s].append(abs(e["mean"] - value) <= half)
            for s, value in truth.items():
                nv = f"{np.mean(naive[s]):>6.3f}" if naive[s] else f"{'-':>6}"
                print(
                    f"{design:<18} {sd:>4.1f}/{sd:<4.1f} {s:<6} {value:>7.3f} "
                    f"{np.mean(hits[s]):>6.3f} {nv}"
                )


if __name__ == "__main__":
    main()

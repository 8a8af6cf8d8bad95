"""Analysis speed: 1,000,000 vote rows (4 criteria x 250,000 trials, 4 instruments) analysed
with B = 1000 bootstrap replicates. Target: within 60 s on a 2-core machine. Prints wall time
and peak memory (RSS).

    DJANGO_SETTINGS_MODULE=evalsite.settings .venv/bin/python benchmarks/analysis_speed.py
"""

import argparse
import resource
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    django.setup()
    import pandas as pd

    from studies.analysis.qc import QCSettings
    from studies.analysis.report import analyze
    from studies.analysis.simulate import simulate_votes

    prefs = {"foley_music": 0.45, "wavenet": 0.2, "samplernn": 0.2, "gan": 0.15}
    trials = args.rows // 4
    participants = max(1, trials // 40)
    frames = []
    for c, criterion in enumerate(("correctness", "noise", "synchronization", "overall")):
        frames.append(
            simulate_votes(
                prefs,
                participants=participants,
                trials=40,
                items=2000,
                participant_sd=0.5,
                item_sd=0.5,
                criterion=criterion,
                categories=("piano", "violin", "cello", "guitar"),
                seed=c,
            )
        )
    votes = pd.concat(frames, ignore_index=True)
    del frames
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    summary = analyze(votes, qc=QCSettings(), b=args.bootstrap, seed=0)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{'rows':>10} {'B':>6} {'scopes':>7} {'wall s':>8} {'peak RSS MB':>12} "
        f"{'RSS with the votes, before MB':>30}"
    )
    scopes = sum(len(v) for v in summary["criteria"].values())
    print(
        f"{len(votes):>10} {args.bootstrap:>6} {scopes:>7} {wall:>8.1f} {peak_mb:>12.0f} "
        f"{before_mb:>30.0f}"
    )


if __name__ == "__main__":
    main()

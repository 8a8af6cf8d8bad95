"""Synthetic performer speed: minutes of performances per minute of wall time, with and
without video. Target: one hour with video in under 10 minutes on a 2-core machine.

    .venv/bin/python benchmarks/synth_speed.py [--minutes 10] [--repeats 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from foley_models.data.synth.performer import SynthConfig, synthesize


def measure(minutes: float, video: bool, seed: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rows = synthesize(
            Path(tmp), SynthConfig(minutes=minutes, seed=seed, video=video), progress=False
        )
        wall = time.perf_counter() - start
    return sum(r.duration_s for r in rows) / 60.0, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'video':<6} {'minutes made':>12} {'wall s (median)':>16} {'min/min':>8} "
        f"{'1 h takes (min)':>16}"
    )
    for video in (False, True):
        runs = [measure(args.minutes, video, seed) for seed in range(args.repeats)]
        made = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[0] / (r[1] / 60.0) for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(
            f"{'yes' if video else 'no':<6} {made:>12.2f} {wall:>16.1f} {rate:>8.1f} "
            f"{60.0 / rate:>16.1f}"
        )


if __name__ == "__main__":
    main()

"""Analysis speed: `manage.py analyze --votes FILE` end to end (start-up, reading and checking
the CSV, quality control, every estimate, the tables and figures), as a researcher runs it.

Votes are simulated (4 criteria per trial, 40 trials per participant, 2,000 items in 4
instruments, participant and item effects) and written as votes CSVs of 10,000 and
1,000,000 rows; each size is analysed --runs times with the default B = 2000, and the table
gives the median wall time and the median peak memory (RSS of the analyze process).
Targets (issue 21): 1,000,000 rows under 10 s and 1 GB; 10,000 rows under 3 s.

    .venv/bin/python benchmarks/analysis_speed.py [--rows 10000 1000000] [--runs 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRITERIA = ("correctness", "noise", "synchronization", "overall")


def votes_csv(rows: int, path: Path) -> Path:
    """rows vote rows (rows / 4 trials, every criterion answered) written as a votes CSV."""
    import pandas as pd

    from studies.analysis.simulate import simulate_votes
    from studies.analysis.votes import write_votes

    prefs = {"foley_music": 0.45, "wavenet": 0.2, "samplernn": 0.2, "gan": 0.15}
    trials = max(1, rows // len(CRITERIA))
    per_participant = min(40, trials)
    frames = [
        simulate_votes(
            prefs,
            participants=max(1, trials // per_participant),
            trials=per_participant,
            items=min(2000, max(8, trials // 5)),
            participant_sd=0.5,
            item_sd=0.5,
            criterion=criterion,
            categories=("piano", "violin", "cello", "guitar"),
            seed=c,
        )
        for c, criterion in enumerate(CRITERIA)
    ]
    votes = pd.concat(frames, ignore_index=True)
    votes["session"] = votes["participant"]
    # Interleave the criteria of each trial as an export does (trial by trial).
    votes = votes.sort_values(["trial", "criterion"], kind="stable")
    return write_votes(path, votes)


def run_once(path: Path, out: Path, bootstrap: int) -> tuple[float, float]:
    """(wall s, peak RSS MB) of one analyze process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "analyze",
            "--votes",
            str(path),
            "--out",
            str(out),
            "--bootstrap",
            str(bootstrap),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"analyze failed: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--write-csv", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    if args.write_csv:
        import django

        django.setup()
        votes_csv(int(args.write_csv[0]), Path(args.write_csv[1]))
        return
    print(
        f"{'rows':>10} {'B':>6} {'runs':>5} {'median wall s':>14} {'min':>6} {'max':>6} "
        f"{'median peak RSS MB':>19}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            # Written by a process of its own: Linux carries the peak RSS of a parent across
            # fork and exec into the child's, so this process must stay small.
            path = Path(tmp) / f"votes{rows}.csv"
            subprocess.run(
                [sys.executable, __file__, "--write-csv", str(rows), str(path)], check=True
            )
            runs = [run_once(path, Path(tmp) / "out", args.bootstrap) for _ in range(args.runs)]
            walls = [w for w, _ in runs]
            print(
                f"{rows:>10} {args.bootstrap:>6} {args.runs:>5} "
                f"{statistics.median(walls):>14.2f} {min(walls):>6.2f} {max(walls):>6.2f} "
                f"{statistics.median(m for _, m in runs):>19.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

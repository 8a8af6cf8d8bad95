"""Every engine, every design, both players: how many honest sessions complete, how many honest
plays were refused, and the switching player's audio-video offset and switching gap per engine.

Runs the suite's honest rater (tests/browser/test_every_engine.py: Chromium through Playwright,
WebKitGTK through WebKitWebDriver, Firefox ESR over its own WebDriver BiDi; a real server,
real clips, an Xvfb screen and a PulseAudio null sink) `--runs` times and prints one table.

- sessions: whole sessions completed / attempted (consent to completion code);
- refused: honest plays the server did not credit (target 0), summed over the runs;
- offset: per start and switch of the switching player, the page's own measure (median over
  its first three frames of heard soundtrack position minus the frame's media time), |ms|;
- gap: a key press to the new soundtrack's first sample on the audio clock, ms.

    python benchmarks/cross_browser.py [--runs 3] [--engines chromium,webkit,firefox]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/browser/test_every_engine.py"


def _pct(values, q):
    return f"{np.percentile(values, q):.1f}" if len(values) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="chromium,webkit,firefox")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    attempted, completed, refused = defaultdict(int), defaultdict(int), defaultdict(int)
    offsets, gaps, versions, failures = defaultdict(list), defaultdict(list), {}, []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            rows, junit = Path(tmp) / "rows.jsonl", Path(tmp) / "junit.xml"
            env = {**os.environ, "CROSS_BROWSER_OUT": str(rows), "DATA_DIR": tmp}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST,
                 "-k", " or ".join(engines), f"--junitxml={junit}"],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )  # fmt: skip
            if not junit.is_file():
                sys.exit(
                    f"run {run + 1} did not run:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
                )
            for case in ET.parse(junit).getroot().iter("testcase"):
                param = case.get("name", "").split("[", 1)[-1].rstrip("]")
                engine, _, design = param.partition("-")
                skipped = case.find("skipped")
                xfailed = skipped is not None and skipped.get("type") == "pytest.xfail"
                if engine not in engines or (skipped is not None and not xfailed):
                    continue
                player = "switch" if design == "best_of_switch" else "separate"
                attempted[(engine, player)] += 1
                if xfailed or case.find("failure") is not None or case.find("error") is not None:
                    failures.append(f"run {run + 1} {engine} {design}")
            for line in rows.read_text().splitlines() if rows.is_file() else []:
                row = json.loads(line)
                key = (row["engine"], "switch" if row["design"] == "best_of_switch" else "separate")
                versions[row["engine"]] = row["version"]
                completed[key] += bool(row["completed"])
                refused[key] += row["refused"] + row["replays"]
                offsets[key] += [abs(v) for v in row["sync_offsets_ms"]]
                gaps[key] += row["switch_gaps_ms"]
    print(f"honest raters in every engine: {args.runs} runs of {TEST}")
    print()
    print("| engine | version | player | sessions | honest plays refused | offset p50 / p95 ms "
          "| gap p50 / p95 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for engine in engines:
        for player in ("separate", "switch"):
            key = (engine, player)
            if not attempted[key]:
                continue
            sync = (
                "-"
                if player == "separate"
                else f"{_pct(offsets[key], 50)} / {_pct(offsets[key], 95)}"
            )
            gap = "-" if player == "separate" else f"{_pct(gaps[key], 50)} / {_pct(gaps[key], 95)}"
            print(f"| {engine} | {versions.get(engine, '?')} | {player} | {completed[key]} / "
                  f"{attempted[key]} | {refused[key]} | {sync} | {gap} |")  # fmt: skip
    if not any(attempted.values()):
        print()
        print(f"no session ran: every engine of {engines} was skipped (not installed? ./run setup "
              "installs only the demo's packages; ./run test installs the browsers)")  # fmt: skip
    if failures:
        print()
        print("not completed: " + "; ".join(failures))


if __name__ == "__main__":
    main()

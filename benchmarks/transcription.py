"""How far to trust the transcription (foley_models.transcribe): Basic Pitch on our FluidSynth
renderings, note F1 against the MIDI they were rendered from (mir_eval: onset within 50 ms,
pitch within 50 cents, offsets ignored), per instrument, micro-averaged over performances.
Target: at least 0.8 on piano.

    .venv/bin/python benchmarks/transcription.py [--minutes 8] [--seed 0] [--data DATASET]

Without --data it synthesises the performances (chorales on the four instruments, no video)
in a temporary folder; with --data it scores every performance of that dataset that has both
audio and MIDI.
"""

import argparse
import tempfile
import time
from pathlib import Path

from foley_models import metrics
from foley_models.data import dataset
from foley_models.data.synth.performer import SynthConfig, synthesize
from foley_models.render.audio_io import read_wav
from foley_models.transcribe import transcribe


def score(root: Path) -> list[dict]:
    by_instrument: dict[str, dict] = {}
    for p in dataset.read_index(root):
        if not (p.audio and p.midi):
            continue
        audio, rate = read_wav(root / p.audio)
        reference = [n for inst in dataset.load_midi(root / p.midi).instruments for n in inst.notes]
        started = time.perf_counter()
        found = transcribe(audio, rate).instruments[0].notes
        seconds = time.perf_counter() - started
        row = by_instrument.setdefault(
            p.instrument, {"counts": metrics.Counts(), "audio_s": 0.0, "wall_s": 0.0, "n": 0}
        )
        row["counts"].add(metrics.note_matches(reference, found), len(reference), len(found))
        row["audio_s"] += len(audio) / rate
        row["wall_s"] += seconds
        row["n"] += 1
    rows = []
    for instrument, row in sorted(by_instrument.items()):
        f = row["counts"].f1()
        rows.append({"instrument": instrument, "performances": row["n"],
                     "notes": row["counts"].reference, **f,
                     "x_realtime": row["audio_s"] / row["wall_s"]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = Path(tmp)
            synthesize(root, SynthConfig(minutes=args.minutes, seed=args.seed, video=False),
                       progress=False)  # fmt: skip
        rows = score(root)
    print(f"{'instrument':<10} {'perfs':>5} {'notes':>6} {'precision':>9} {'recall':>7} "
          f"{'note F1':>7} {'x realtime':>10}")  # fmt: skip
    for r in rows:
        print(f"{r['instrument']:<10} {r['performances']:>5} {r['notes']:>6} "
              f"{r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>7.3f} "
              f"{r['x_realtime']:>10.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

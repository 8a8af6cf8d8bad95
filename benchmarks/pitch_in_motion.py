"""How much of the pitch the motion carries: a probe, independent of any system.

For every frame of a dataset's train split where notes start, the hand features
(`foley_models/models/hand_features.py`, what Foley Music `small` reads) of the 7 frames around
it, with the instrument, go into a small MLP that names the pitches starting there (soft targets,
as Foley Music's pitch head). On the test split, a frame where k notes start is scored by its k
most likely pitches: the table gives the share of notes named exactly and within one semitone,
per instrument, against the k most common pitches of that instrument in training (chance). It
says how much of the onset+pitch F1 a pose-to-MIDI system could reach from these features.

    .venv/bin/python benchmarks/pitch_in_motion.py --data data60 [--epochs 60] [--seed 0]
"""

import argparse
from collections import Counter

import numpy as np
import torch

from foley_models.data.layouts import normalise
from foley_models.models import clips
from foley_models.models.hand_features import hand_features

CONTEXT = 3  # frames each side of the onset frame


def examples(data, split: str):
    """Per onset frame: features [7 * FEATURES], the pitches starting there, the instrument."""
    sources = clips.load_split(data, split)
    rows, pitches, instruments = [], [], []
    for source in sources:
        p = source.performance
        pose = torch.from_numpy(normalise(source.pose, p.layout))[None]
        features = hand_features(pose)[0].numpy()  # [T, F]
        padded = np.pad(features, ((CONTEXT, CONTEXT), (0, 0)))
        starting: dict[int, list[int]] = {}
        for note in source.notes:
            frame = min(int(round(note.start * p.fps)), len(features) - 1)
            starting.setdefault(frame, []).append(note.pitch)
        for frame, frame_pitches in sorted(starting.items()):
            rows.append(padded[frame : frame + 2 * CONTEXT + 1].reshape(-1))
            pitches.append(frame_pitches)
            instruments.append(p.instrument)
    return np.stack(rows).astype(np.float32), pitches, instruments


def fourier(x: np.ndarray, bands: int) -> np.ndarray:
    """Each feature with sin and cos of pi * 2^k times it, k < bands (fine positions become
    linearly separable)."""
    scaled = x[..., None] * (np.pi * 2.0 ** np.arange(bands))
    waves = [np.sin(scaled).reshape(len(x), -1), np.cos(scaled).reshape(len(x), -1)]
    return np.concatenate([x, *waves], axis=1).astype(np.float32)


def top_k_hits(scores: np.ndarray, truth: list[int], tolerance: int) -> int:
    """How many of the pitches in `truth` the len(truth) best-scored pitches name."""
    guesses = list(np.argsort(-scores)[: len(truth)])
    hits = 0
    for pitch in truth:
        near = [g for g in guesses if abs(int(g) - pitch) <= tolerance]
        if near:
            guesses.remove(min(near, key=lambda g: abs(int(g) - pitch)))
            hits += 1
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fourier", type=int, default=0, help="Fourier bands per coordinate")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    x_train, y_train, inst_train = examples(args.data, "train")
    x_test, y_test, inst_test = examples(args.data, "test")
    names = sorted(set(inst_train))

    def with_instrument(x, inst):
        one_hot = np.eye(len(names), dtype=np.float32)[[names.index(i) for i in inst]]
        return torch.from_numpy(np.concatenate([x, one_hot], axis=1))

    if args.fourier:
        x_train, x_test = fourier(x_train, args.fourier), fourier(x_test, args.fourier)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    xt = with_instrument((x_train - mean) / std, inst_train)
    xe = with_instrument((x_test - mean) / std, inst_test)
    yt = torch.zeros(len(y_train), 128)
    for i, frame_pitches in enumerate(y_train):
        for pitch in frame_pitches:
            yt[i, pitch] += 1.0 / len(frame_pitches)
    model = torch.nn.Sequential(
        torch.nn.Linear(xt.shape[1], 256), torch.nn.ReLU(), torch.nn.Linear(256, 128)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    order = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        for batch in torch.randperm(len(xt), generator=order).split(256):
            loss = torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        scores = model(xe).numpy()
    notes = sum(len(p) for p in y_test)
    print(f"data: {args.data}; {len(xt)} training onset frames, {len(xe)} test onset frames")
    print(f"{'instrument':<11} {'notes':>6} {'exact':>6} {'+-1':>6} {'chance':>6}")
    totals = np.zeros(3)
    for name in names:
        counts = Counter(
            p for ps, i in zip(y_train, inst_train, strict=True) if i == name for p in ps
        )
        prior = np.zeros(128)
        for pitch, count in counts.items():
            prior[pitch] = count
        row = np.zeros(4)
        for frame_scores, truth, inst in zip(scores, y_test, inst_test, strict=True):
            if inst == name:
                exact, near = (top_k_hits(frame_scores, truth, t) for t in (0, 1))
                row += (len(truth), exact, near, top_k_hits(prior, truth, 0))
        totals += row[1:]
        n = max(row[0], 1)
        print(
            f"{name:<11} {int(row[0]):>6} {row[1] / n:>6.3f} {row[2] / n:>6.3f} {row[3] / n:>6.3f}"
        )
    exact, near, chance = totals / max(notes, 1)
    print(f"{'all':<11} {notes:>6} {exact:>6.3f} {near:>6.3f} {chance:>6.3f}")


if __name__ == "__main__":
    main()

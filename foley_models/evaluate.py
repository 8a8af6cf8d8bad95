"""`python -m foley_models evaluate`: one table for any systems on a dataset split.

For each test clip (back-to-back windows of the system's clip length): note-onset F1 and
onset+pitch F1 of the generated MIDI against the ground truth (systems that predict MIDI), and
the same with the poses shuffled across performances as a control (each clip gets another
performance's motion, the ground truth stays its own).
"""

import json
from pathlib import Path

import numpy as np

from foley_models import metrics
from foley_models.models import clips
from foley_models.models.registry import load_generator


def _shuffle_index(sources: list[str], rng: np.random.Generator) -> list[int]:
    """A permutation that gives every clip a clip of another performance where possible."""
    n = len(sources)
    for _ in range(100):
        order = rng.permutation(n)
        if all(sources[i] != sources[order[i]] for i in range(n)):
            return list(order)
    return list(rng.permutation(n))


def evaluate_checkpoint(
    path: Path,
    data: Path,
    *,
    split: str = "test",
    max_clips: int = 64,
    device: str = "auto",
    seed: int = 0,
) -> dict:
    gen = load_generator(path, device)
    config = gen.config
    sources = clips.load_split(data, split, instruments=getattr(config, "instruments", None))
    test = clips.consecutive_clips(sources, config.clip_s, config.clip_s, limit=max_clips)
    rng = np.random.default_rng(seed)
    shuffled = _shuffle_index([c.source_id for c in test], rng)
    fps = sources[0].performance.fps
    layout = sources[0].performance.layout
    raw = {c.source_id: s for s in sources for c in test if s.performance.id == c.source_id}

    def raw_pose(clip):
        source = raw[clip.source_id]
        first = int(round(clip.start_s * fps))
        return source.pose[first : first + int(round(config.clip_s * fps))]

    result = {"system": gen.system, "checkpoint": str(path), "clips": len(test)}
    for name, order in (("", list(range(len(test)))), ("shuffled_", shuffled)):
        onset, note = metrics.Counts(), metrics.Counts()
        by_instrument: dict[str, list[int]] = {}
        for i, clip in enumerate(test):
            by_instrument.setdefault(clip.instrument, []).append(i)
        for instrument, indices in by_instrument.items():
            outputs = gen.generate(
                [raw_pose(test[order[i]]) for i in indices],
                instrument,
                seed=seed,
                fps=fps,
                layout=layout,
            )
            for i, out in zip(indices, outputs, strict=True):
                ref = [n for n in test[i].notes if n.start < config.clip_s]
                est = [n for inst in out.midi.instruments for n in inst.notes] if out.midi else []
                ref_on = metrics.unique_onsets([n.start for n in ref])
                est_on = metrics.unique_onsets([n.start for n in est])
                onset.add(metrics.onset_matches(ref_on, est_on), len(ref_on), len(est_on))
                note.add(metrics.note_matches(ref, est), len(ref), len(est))
        result[f"{name}onset_f1"] = onset.f1()["f1"]
        result[f"{name}onset_precision"] = onset.f1()["precision"]
        result[f"{name}onset_recall"] = onset.f1()["recall"]
        result[f"{name}note_f1"] = note.f1()["f1"]
    return result


def format_results(rows: list[dict]) -> str:
    cols = ["system", "clips", "onset_f1", "shuffled_onset_f1", "note_f1", "shuffled_note_f1"]
    lines = ["  ".join(f"{c:>18}" for c in cols)]
    for r in rows:
        lines.append(
            "  ".join(f"{r[c]:>18.3f}" if isinstance(r[c], float) else f"{r[c]:>18}" for c in cols)
        )
    return "\n".join(lines)


def write_json(path: Path, rows: list[dict]) -> None:
    from foley_models.data.dataset import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(rows, indent=2).encode())

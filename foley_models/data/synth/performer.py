"""`dataset synth`: a dataset of synthetic performances whose ground truth is known.

Splits never share a piece or a performer: chorales are dealt into train/val/test pools (80/10/10)
and so are performers; of each instrument's performances every tenth is val and the next test.
The same seed gives the same files: every random draw comes from generators seeded by (seed,
performance index), and the encoders run bit-exact.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foley_models.data import codec
from foley_models.data.dataset import Performance, save_midi, save_npy, write_index
from foley_models.data.synth import motion, music
from foley_models.render.audio_io import write_wav
from foley_models.render.fluidsynth import Renderer, gm_program

PERFORMERS_PER_SPLIT = {"train": 16, "val": 4, "test": 4}


@dataclass(frozen=True)
class SynthConfig:
    minutes: float
    instruments: tuple[str, ...] = music.INSTRUMENTS
    seed: int = 0
    fps: float = 22.0
    sample_rate: int = 22050
    video: bool = True
    video_splits: tuple[str, ...] = ("train", "val", "test")  # which splits get a video
    max_piece_s: float = 60.0  # long chorales are cut here


def split_of(index: int) -> str:
    return {1: "val", 2: "test"}.get(index % 10, "train")


def piece_pools(seed: int) -> dict[str, list[str]]:
    keys = music.chorale_keys()
    np.random.default_rng([seed, 7]).shuffle(keys)
    n = len(keys)
    n_test = n_val = max(1, n // 10)
    return {
        "test": keys[:n_test],
        "val": keys[n_test : n_test + n_val],
        "train": keys[n_test + n_val :],
    }


def performer_ids(split: str) -> list[str]:
    first = {"train": 0, "val": 100, "test": 200}[split]
    return [f"p{first + i:03d}" for i in range(PERFORMERS_PER_SPLIT[split])]


def _pick_piece(pool: list[str], rng: np.random.Generator) -> music.Piece:
    for _ in range(50):
        piece = music.load_piece(pool[int(rng.integers(len(pool)))])
        if piece is not None:
            return piece
    raise RuntimeError("no four-part chorale could be loaded from the corpus")


def make_performance(
    index: int, config: SynthConfig, pools: dict, renderer: Renderer, out: Path
) -> Performance:
    """Generate and write one performance's pose, MIDI, audio and (optionally) video."""
    rng = np.random.default_rng([config.seed, index])
    instrument = config.instruments[index % len(config.instruments)]
    split = split_of(index // len(config.instruments))  # per instrument: 80/10/10
    piece = _pick_piece(pools[split], rng)
    performer_id = performer_ids(split)[int(rng.integers(PERFORMERS_PER_SPLIT[split]))]
    performer = motion.Performer.random(
        np.random.default_rng([config.seed, 1000 + int(performer_id[1:])])
    )
    notes = music.perform(piece, instrument, rng)
    duration = min(max(n.end for n in notes) + 0.5, config.max_piece_s)
    notes = [n for n in notes if n.start < duration - 0.3]
    pm_notes = [
        codec.pretty_midi.Note(
            velocity=n.velocity, pitch=n.pitch, start=n.start, end=min(n.end, duration)
        )
        for n in notes
    ]
    pose, geometry = motion.perform_motion(notes, instrument, duration, config.fps, performer, rng)
    pid = f"{instrument}-{index:05d}"
    video = config.video and split in config.video_splits
    files = {
        "pose": f"pose/{pid}.npy",
        "midi": f"midi/{pid}.mid",
        "audio": f"audio/{pid}.wav",
        "video": f"video/{pid}.mp4" if video else "",
    }
    save_npy(out / files["pose"], pose)
    save_midi(
        out / files["midi"],
        codec.notes_to_midi(pm_notes, program=gm_program(instrument), name=instrument),
    )
    audio = renderer.render(pm_notes, instrument, duration_s=duration)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (0.5 / peak)
    write_wav(out / files["audio"], audio, config.sample_rate)
    if video:
        from foley_models.data.synth.video import render_video

        render_video(out / files["video"], pose, geometry, config.fps)
    return Performance(
        id=pid,
        instrument=instrument,
        split=split,
        fps=config.fps,
        duration_s=round(pose.shape[0] / config.fps, 4),
        layout="body65",
        extra={"piece": piece.key, "performer": performer_id},
        **files,
    )


def synthesize(out: Path, config: SynthConfig, progress: bool = True) -> list[Performance]:
    """Write a whole synthetic dataset to `out` and return its index rows."""
    from tqdm import tqdm

    for instrument in config.instruments:
        if instrument not in music.RANGES:
            raise ValueError(
                f"the synthetic performer plays {', '.join(music.RANGES)}; not {instrument!r}"
            )
    if config.minutes <= 0:
        raise ValueError("--minutes must be positive")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pools = piece_pools(config.seed)
    renderer = Renderer(sample_rate=config.sample_rate)
    performances, total_s = [], 0.0
    target_s = config.minutes * 60.0
    with tqdm(total=round(target_s), unit="s", desc="synthesising", disable=not progress) as bar:
        index = 0
        while total_s < target_s:
            perf = make_performance(index, config, pools, renderer, out)
            performances.append(perf)
            total_s += perf.duration_s
            bar.update(round(perf.duration_s))
            index += 1
    write_index(out, performances)
    return performances

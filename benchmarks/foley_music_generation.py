"""Foley Music generation speed: event tokens per second and real-time factor (seconds of music
per second of wall time) at batch 1 and batch 32, cached decoding, on the CPU (and CUDA if
present).

    .venv/bin/python benchmarks/foley_music_generation.py [--checkpoint RUN/best.pt --data DS]

Without a checkpoint, a randomly initialised `small` model decodes a fixed 256 events per clip
(EOS disabled) from random poses: a pure decoding-speed figure. With a checkpoint and a dataset,
real test clips of the model's clip length are generated and rendered, so the real-time factor
includes FluidSynth.
"""

import argparse
import statistics
import time

import torch

from foley_models.models.foley_music import generate
from foley_models.models.foley_music.config import preset
from foley_models.models.foley_music.model import FoleyMusic


def decoding_speed(device: str, batch: int, events: int, repeats: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = FoleyMusic(preset("small")).to(device).eval()
    with torch.no_grad():
        model.head.bias[241] = -1e9  # never stop early: measure a fixed number of steps
    frames = round(model.config.clip_s * model.config.fps)
    pose = torch.randn(batch, frames, 3, 65, 1, device=device)
    ids = torch.zeros(batch, dtype=torch.long, device=device)
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            memory = model.encode(pose, ids)
            generate.decode_tokens(model, memory, max_events=events, end_s=None)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    wall = statistics.median(times)
    return batch * events / wall, batch * model.config.clip_s / wall


def real_clips(checkpoint: str, data: str, device: str, batch: int) -> tuple[float, float, float]:
    from foley_models import load_generator
    from foley_models.models import clips

    gen = load_generator(checkpoint, device)
    clip_s = gen.config.clip_s
    n = round(clip_s * gen.config.fps)
    sources = clips.load_split(data, "test", instruments=("piano",))
    pose = [s.pose[i * n : (i + 1) * n] for s in sources for i in range(6)][:batch]
    while len(pose) < batch:
        pose += pose[: batch - len(pose)]
    start = time.perf_counter()
    outputs = gen.generate(pose, "piano", seed=0)
    wall = time.perf_counter() - start
    tokens = sum(len(o.tokens) for o in outputs)
    return tokens / wall, batch * clip_s / wall, clip_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint")
    parser.add_argument("--data")
    parser.add_argument("--events", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"{'device':<7} {'batch':>5} {'mode':<22} {'tokens/s':>10} {'real-time factor':>17}")
    for device in devices:
        for batch in (1, 32):
            tps, rtf = decoding_speed(device, batch, args.events, args.repeats)
            print(f"{device:<7} {batch:>5} {'decode 256 (small)':<22} {tps:>10.0f} {rtf:>17.2f}")
            if args.checkpoint and args.data:
                tps, rtf, clip_s = real_clips(args.checkpoint, args.data, device, batch)
                mode = f"{clip_s:g} s clips + render"
                print(f"{device:<7} {batch:>5} {mode:<22} {tps:>10.0f} {rtf:>17.2f}")


if __name__ == "__main__":
    main()

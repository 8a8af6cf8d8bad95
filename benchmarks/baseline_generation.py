"""Waveform baselines' generation speed: audio samples generated per second of wall time at batch
1 and batch 32 for WaveNet, SampleRNN and the GAN (`small` presets, random weights: generation
cost does not depend on the weights), on the CPU (and CUDA if present); then WaveNet's cached
(fast) generation against naive generation (the receptive field recomputed every sample) on one
2-second clip, with whether both gave the same samples.

    .venv/bin/python benchmarks/baseline_generation.py [--seconds 0.5] [--naive-seconds 2.0]

Samples/s is per clip stream times the batch (total audio samples per second); the real-time
factor is seconds of audio per second of wall time.
"""

import argparse
import statistics
import time

import torch

from foley_models.models.registry import system_module
from foley_models.models.wavenet.generate import generate_cached, generate_naive


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def speed(system: str, device: str, batch: int, seconds: float, repeats: int) -> float:
    torch.manual_seed(0)
    config = system_module(system, "config").preset("small")
    generator_class = system_module(system, "generate").Generator
    gen = generator_class(generator_class.model_class(config), torch.device(device))
    frames = int(round(seconds * config.fps))
    pose = torch.randn(batch, frames, 3, 65, 1, device=device)
    ids = torch.zeros(batch, dtype=torch.long, device=device)
    n = int(round(frames / config.fps * config.sample_rate))
    times = []
    for r in range(repeats):
        _sync(device)
        start = time.perf_counter()
        with torch.no_grad():
            gen.synthesize(pose, ids, n, generator=torch.Generator().manual_seed(r))
        _sync(device)
        times.append(time.perf_counter() - start)
    return batch * n / statistics.median(times)


def wavenet_cached_vs_naive(device: str, seconds: float) -> tuple[float, float, bool]:
    torch.manual_seed(0)
    config = system_module("wavenet", "config").preset("small")
    model = system_module("wavenet", "model").WaveNet(config).to(device).eval()
    n = int(seconds * config.sample_rate)
    pose = torch.randn(1, int(round(seconds * config.fps)), 3, 65, 1, device=device)
    with torch.no_grad():
        c = model.conditioning(pose, torch.zeros(1, dtype=torch.long, device=device), n)
    uniform = torch.rand((n, 1), generator=torch.Generator().manual_seed(1)).to(device)
    walls, outputs = [], []
    for run in (generate_cached, generate_naive):
        _sync(device)
        start = time.perf_counter()
        outputs.append(run(model, c, uniform))
        _sync(device)
        walls.append(time.perf_counter() - start)
    return walls[0], walls[1], bool(torch.equal(outputs[0], outputs[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="clip length for the speeds")
    parser.add_argument("--naive-seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--only-naive", action="store_true")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if not args.only_naive:
        print(f"{'device':<7} {'system':<10} {'batch':>5} {'samples/s':>11} {'RTF':>17}")
    for device in [] if args.only_naive else devices:
        for system in ("wavenet", "samplernn", "gan"):
            for batch in (1, 32):
                rate = speed(system, device, batch, args.seconds, args.repeats)
                print(f"{device:<7} {system:<10} {batch:>5} {rate:>11.0f} {rate / 16000:>17.3f}")
    if args.skip_naive:
        return
    print()
    print(
        f"{'device':<7} {'WaveNet small, 1 clip':<26} {'cached s':>9} {'naive s':>9} "
        f"{'speed-up':>9}"
    )
    for device in devices:
        cached, naive, same = wavenet_cached_vs_naive(device, args.naive_seconds)
        label = f"{args.naive_seconds:g} s clip, same: {'yes' if same else 'NO'}"
        print(f"{device:<7} {label:<26} {cached:>9.1f} {naive:>9.1f} {naive / cached:>8.1f}x")


if __name__ == "__main__":
    main()

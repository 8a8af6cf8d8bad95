"""Stimulus generation speed: clips per minute per system, and the time to generate a whole
4-system study of N items (clips plus check material), through the real pipeline
(`generate_clips`: generation, MIDI rendering, resampling, loudness, ffmpeg muxing).

    .venv/bin/python benchmarks/stimuli_generation.py --data DATASET \
        --checkpoint var/runs/fm_small/best.pt var/runs/wavenet_small/best.pt ... \
        [--items-per-category 2] [--duration 3] [--device auto] [--batch-size 16] \
        [--workers 1 2]

DATASET needs videos (a synthetic one made without --no-video). Everything is written to a
temporary DATA_DIR with its own SQLite database; the project's data is not touched. Each system
runs as its own job, so its time is its own; the check material runs last as one more job.
With --workers, the whole study is then made again (force) as one job for each number of
processes sharing it (generate_clips --workers), in the order given.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, nargs="+", required=True)
    parser.add_argument("--items-per-category", type=int, default=2)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="*", default=[])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="stimuli-bench-"))
    os.environ["DATA_DIR"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    import django

    django.setup()
    import torch
    from django.core.management import call_command

    from foley_models.models.registry import resolve_device
    from studies import services
    from studies.models import System
    from studies.services import generation_job_create
    from studies.stimuli.checkpoints import checkpoint_register
    from studies.stimuli.items import items_import
    from studies.stimuli.jobs import generation_job_run

    call_command("migrate", verbosity=0)
    rows = [checkpoint_register(path=p) for p in args.checkpoint]
    study = services.study_create(
        title="bench", slug="bench", systems=[(r.system_key, r.system_key) for r in rows]
    )
    for row in rows:
        System.objects.filter(study=study, key=row.system_key).update(checkpoint=row)
    started = time.perf_counter()
    items = items_import(
        study=study,
        data_dir=args.data,
        per_category=args.items_per_category,
        duration_s=args.duration,
    )
    import_s = time.perf_counter() - started
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    table = []
    total = import_s
    for row in rows:
        job = generation_job_create(
            study=study,
            systems=[row.system_key],
            device=args.device,
            batch_size=args.batch_size,
            checks=False,  # the check material is made by its own job at the end
        )
        started = time.perf_counter()
        job = generation_job_run(job=job)
        seconds = time.perf_counter() - started
        total += seconds
        table.append((row.system_key, row.preset, job.done, job.failed, seconds))
    started = time.perf_counter()
    checks = generation_job_run(job=generation_job_create(study=study, device=args.device))
    checks_s = time.perf_counter() - started
    total += checks_s

    print(f"device: {name}, torch threads {torch.get_num_threads()}, items {len(items)} of "
          f"{args.duration:g} s, batch {args.batch_size}")  # fmt: skip
    print("| system | preset | clips | failed | seconds | clips/min | s per clip |")
    print("|---|---|---|---|---|---|---|")
    for system, preset, done, failed, seconds in table:
        print(
            f"| {system} | {preset} | {done} | {failed} | {seconds:.1f} | "
            f"{60 * done / seconds:.1f} | {seconds / max(done, 1):.2f} |"
        )
    print(f"| check material | - | {checks.done} items | {checks.failed} | {checks_s:.1f} | | |")
    print(
        f"whole study of {len(items)} items x {len(rows)} systems: {total:.1f} s "
        f"(item import {import_s:.1f} s)"
    )
    if not args.workers:
        return
    timings = []
    for workers in args.workers:
        job = generation_job_create(
            study=study, device=args.device, batch_size=args.batch_size, force=True
        )
        started = time.perf_counter()
        job = generation_job_run(job=job, workers=workers)
        timings.append((workers, job.done, job.failed, time.perf_counter() - started))
    print("\nthe whole study as one job (clips and check material, made again):")
    print("| processes | made | failed | seconds | speed-up over the first row |")
    print("|---|---|---|---|---|")
    for workers, done, failed, seconds in timings:
        print(f"| {workers} | {done} | {failed} | {seconds:.1f} | {timings[0][3] / seconds:.2f} |")


if __name__ == "__main__":
    main()

"""`python -m foley_models ...`: the command line of the PyTorch side."""

import argparse
import sys
from pathlib import Path

from foley_models.data.dataset import DatasetError
from foley_models.data.layouts import PoseError
from foley_models.render.ffmpeg import FFmpegError
from foley_models.render.fluidsynth import RenderError

# CheckpointError is a ValueError.
USER_ERRORS = (DatasetError, PoseError, RenderError, FFmpegError, ValueError, FileNotFoundError)


def _instruments(value: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in value.split(",") if part.strip())
    if not items:
        raise argparse.ArgumentTypeError("give at least one instrument")
    return items


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m foley_models")
    commands = parser.add_subparsers(dest="command", required=True)
    dataset = commands.add_parser("dataset", help="make, import and inspect performance datasets")
    sub = dataset.add_subparsers(dest="dataset_command", required=True)

    synth = sub.add_parser("synth", help="synthetic performances with known ground truth")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--minutes", type=float, required=True)
    synth.add_argument(
        "--instruments", type=_instruments, default=("piano", "violin", "cello", "guitar")
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--fps", type=float, default=22.0)
    synth.add_argument("--sample-rate", type=int, default=22050)
    synth.add_argument("--no-video", action="store_true", help="skip the stick-figure videos")

    openpose = sub.add_parser("import-openpose", help="OpenPose JSON folders + MIDI + video")
    openpose.add_argument(
        "--keypoints",
        type=Path,
        required=True,
        help="a folder of per-video folders of OpenPose JSON frames",
    )
    openpose.add_argument("--out", type=Path, required=True)
    openpose.add_argument("--instrument", required=True)
    openpose.add_argument("--fps", type=float, required=True)
    openpose.add_argument("--midi", type=Path, help="folder with <video>.mid files")
    openpose.add_argument("--video", type=Path, help="folder with <video>.mp4 files")
    openpose.add_argument(
        "--audio", type=Path, help="folder with <video>.wav (or .flac, .mp3, ...) recordings"
    )
    openpose.add_argument(
        "--transcribe",
        action="store_true",
        help="make the MIDI of performances without it by transcribing their recording "
        "(the audio file, else the video's sound)",
    )
    openpose.add_argument("--split", default="train", choices=("train", "val", "test"))
    openpose.add_argument("--max-persons", type=int, default=1)

    release = sub.add_parser("import-foley-release", help="the Foley Music data release")
    release.add_argument(
        "--split-csv-dir",
        type=Path,
        required=True,
        help="folder with the release's train.csv and val.csv",
    )
    release.add_argument("--pose-dir", type=Path, required=True)
    release.add_argument("--midi-dir", type=Path)
    release.add_argument("--audio-dir", type=Path)
    release.add_argument("--out", type=Path, required=True)
    release.add_argument("--instrument", required=True)
    release.add_argument("--layout", default="body65", choices=("body65", "hands"))
    release.add_argument("--fps", type=float, default=22.0)

    stats = sub.add_parser("stats", help="minutes, notes per second, keypoint dropout")
    stats.add_argument("dir", type=Path)

    train = commands.add_parser("train", help="train a system with the shared loop")
    train.add_argument("system")
    train.add_argument("--data", type=Path, required=True)
    train.add_argument("--preset", choices=("debug", "small", "paper"), default="small")
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--device", default="auto")
    train.add_argument("--max-steps", type=int, default=20000)
    train.add_argument("--max-minutes", type=float, help="stop (and validate) after this long")
    train.add_argument(
        "--max-cpu-minutes",
        type=float,
        help="stop (and validate) after this much CPU time (all threads), whatever else runs",
    )
    train.add_argument("--val-every", type=int, default=200)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--resume", action="store_true")

    generate = commands.add_parser("generate", help="audio (and MIDI) for one pose file")
    generate.add_argument("--checkpoint", type=Path, required=True)
    generate.add_argument("--pose", type=Path, required=True, help="[T, C, V, M] .npy")
    generate.add_argument("--instrument", required=True)
    generate.add_argument("--out", type=Path, required=True, help="output .wav")
    generate.add_argument("--midi", type=Path, help="also write the MIDI here")
    generate.add_argument("--fps", type=float, default=22.0)
    generate.add_argument("--start", type=float, default=0.0, help="seconds into the pose")
    generate.add_argument("--duration", type=float, help="seconds (default: to the end)")
    generate.add_argument(
        "--window",
        type=float,
        help="generate in windows of this many seconds, one after another, with a progress "
        "bar (default: the model's training clip length)",
    )
    generate.add_argument("--sample-rate", type=int, help="output rate (default: the model's)")
    generate.add_argument("--layout", default="body65")
    generate.add_argument("--device", default="auto")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--sample", action="store_true", help="sample instead of greedy")
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--top-k", type=int)
    generate.add_argument("--top-p", type=float)

    evaluate = commands.add_parser("evaluate", help="objective metrics table for systems")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--checkpoint", type=Path, nargs="+", required=True)
    evaluate.add_argument("--max-clips", type=int, default=64)
    evaluate.add_argument(
        "--clip-s", type=float, help="clip length (default: the shortest training clip)"
    )
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument(
        "--temperature",
        type=float,
        help="sampling temperature of the sample-level systems (WaveNet, SampleRNN; default: "
        "1, sampling from the model as trained; other systems ignore it)",
    )
    evaluate.add_argument("--out", type=Path)
    evaluate.add_argument(
        "--no-transcribe", action="store_true", help="skip the transcription-based note F1"
    )
    evaluate.add_argument(
        "--no-reference", action="store_true", help="no row for the reference recordings"
    )
    zoo = commands.add_parser("zoo", help="the demo's shipped checkpoints")
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True)
    zoo_commands.add_parser("check", help="verify hashes and that every file loads")
    export = zoo_commands.add_parser("export", help="add a trained checkpoint, half precision")
    export.add_argument("--checkpoint", type=Path, required=True)
    export.add_argument("--training", required=True, help="the exact training command")
    export.add_argument("--data", required=True, help="how the training data was made")
    export.add_argument("--commit", required=True, help="the code commit it was trained at")
    export.add_argument("--evaluate", type=Path, required=True, help="evaluate --out JSON")
    export.add_argument("--evaluate-command", required=True)
    return parser


def run_zoo(args) -> None:
    import json

    from foley_models.models import zoo

    if args.zoo_command == "check":
        for system, path in zoo.check().items():
            print(f"{system}: {path} ok")
        return
    rows = json.loads(args.evaluate.read_text())
    systems = [
        r for r in rows if isinstance(r, dict) and r.get("system") not in (None, "reference")
    ]
    if not isinstance(rows, list) or len(systems) != 1:
        raise ValueError(f"{args.evaluate}: not an `evaluate --out` file of one checkpoint")
    row = systems[0]
    reference = next((r for r in rows if r["system"] == "reference"), None)
    figures = {"command": args.evaluate_command, "row": row, "reference": reference}
    entry = zoo.export(
        args.checkpoint,
        training=args.training,
        data=args.data,
        commit=args.commit,
        evaluate=figures,
    )
    print(f"{entry['file']}: {entry['bytes'] / 1e6:.1f} MB, sha256 {entry['sha256'][:12]}")


def run_train(args) -> None:
    from foley_models.models.training import train_system

    summary = train_system(
        args.system,
        args.data,
        preset=args.preset,
        out=args.out,
        device=args.device,
        max_steps=args.max_steps,
        seed=args.seed,
        resume=args.resume,
        val_every=args.val_every,
        max_minutes=args.max_minutes,
        max_cpu_minutes=args.max_cpu_minutes,
    )
    print(
        f"{args.system}: {summary['step']} steps in {summary['minutes']:.1f} min "
        f"({summary['cpu_minutes']:.1f} CPU min), best "
        f"val loss {summary['best_val_loss']:.4f}; checkpoints in {args.out}"
    )


def run_generate(args) -> None:
    import numpy as np
    from tqdm import tqdm

    from foley_models import load_generator
    from foley_models.data.dataset import save_midi
    from foley_models.render.audio_io import write_wav

    try:
        pose = np.load(args.pose, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{args.pose}: not a readable .npy pose array ({exc})") from None
    gen = load_generator(args.checkpoint, args.device)
    sampling = (
        {
            "greedy": not args.sample,
            "temperature": args.temperature,
            "top_k": args.top_k,
            "top_p": args.top_p,
        }
        if gen.system == "foley_music"
        else {"temperature": args.temperature}
        if gen.system in ("wavenet", "samplernn")
        else {}
    )
    first = int(round(args.start * args.fps))
    last = len(pose) if args.duration is None else first + int(round(args.duration * args.fps))
    if not 0 <= first < len(pose) or last > len(pose) or last <= first:
        raise DatasetError(
            f"{args.pose}: --start {args.start:g} s / --duration {args.duration} s lie outside "
            f"its {len(pose) / args.fps:.2f} s at {args.fps:g} fps"
        )
    pose = pose[first:last]
    window = args.window or gen.config.clip_s
    step = max(1, int(round(window * args.fps)))
    starts = list(range(0, len(pose), step))
    if len(starts) > 1 and len(pose) - starts[-1] < step // 2:
        starts.pop()  # a short tail joins the window before it
    ends = [*starts[1:], len(pose)]
    bounds = list(zip(starts, ends, strict=True))
    audio, notes, rate = [], [], args.sample_rate
    for i, (a, b) in enumerate(tqdm(bounds, desc="generating", unit="window", disable=None)):
        (out,) = gen.generate(
            [pose[a:b]], args.instrument, seed=args.seed + i, fps=args.fps, layout=args.layout,
            sample_rate=args.sample_rate, **sampling,
        )  # fmt: skip
        rate = out.sample_rate
        audio.append(out.audio[: int(round((b - a) / args.fps * rate))])
        if out.midi is not None:
            offset = a / args.fps
            for inst in out.midi.instruments:
                for n in inst.notes:
                    n.start, n.end = n.start + offset, n.end + offset
                notes.append(inst)
    write_wav(args.out, np.concatenate(audio), rate)
    if args.midi and notes:
        midi = out.midi
        midi.instruments = [notes[0]]
        for inst in notes[1:]:
            midi.instruments[0].notes.extend(inst.notes)
        save_midi(args.midi, midi)
    total = sum(len(a) for a in audio) / rate
    print(f"wrote {args.out} ({total:.2f} s, {len(bounds)} windows of {window:g} s)")


def run_evaluate(args) -> None:
    from foley_models.evaluate import evaluate_checkpoints, format_results, write_json

    rows = evaluate_checkpoints(
        args.checkpoint,
        args.data,
        clip_s=args.clip_s,
        split=args.split,
        max_clips=args.max_clips,
        device=args.device,
        transcribe=not args.no_transcribe,
        reference=not args.no_reference,
        temperature=args.temperature,
    )
    print(format_results(rows))
    if args.out:
        write_json(args.out, rows)


def run_dataset(args) -> None:
    if args.dataset_command == "synth":
        from foley_models.data.synth.performer import SynthConfig, synthesize

        config = SynthConfig(
            minutes=args.minutes,
            instruments=args.instruments,
            seed=args.seed,
            fps=args.fps,
            sample_rate=args.sample_rate,
            video=not args.no_video,
        )
        rows = synthesize(args.out, config)
        print(f"wrote {len(rows)} performances to {args.out}")
    elif args.dataset_command == "import-openpose":
        from foley_models.data.importers import import_openpose

        rows = import_openpose(
            keypoints=args.keypoints,
            out=args.out,
            instrument=args.instrument,
            fps=args.fps,
            midi=args.midi,
            video=args.video,
            audio=args.audio,
            split=args.split,
            max_persons=args.max_persons,
            transcribe=args.transcribe,
        )
        print(f"{args.out}: {len(rows)} performances")
    elif args.dataset_command == "import-foley-release":
        from foley_models.data.importers import import_foley_release

        rows = import_foley_release(
            split_csv_dir=args.split_csv_dir,
            pose_dir=args.pose_dir,
            midi_dir=args.midi_dir,
            audio_dir=args.audio_dir,
            out=args.out,
            instrument=args.instrument,
            layout=args.layout,
            fps=args.fps,
        )
        print(f"{args.out}: {len(rows)} performances")
    elif args.dataset_command == "stats":
        from foley_models.data.stats import dataset_stats, format_table

        print(format_table(dataset_stats(args.dir)))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "dataset":
            run_dataset(args)
        elif args.command == "train":
            run_train(args)
        elif args.command == "generate":
            run_generate(args)
        elif args.command == "evaluate":
            run_evaluate(args)
        elif args.command == "zoo":
            run_zoo(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished files are complete, nothing half-written", file=sys.stderr)
        return 130
    return 0

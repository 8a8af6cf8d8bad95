"""`python -m foley_models ...`: the command line of the PyTorch side."""

import argparse
import sys
from pathlib import Path

from foley_models.data.dataset import DatasetError
from foley_models.data.layouts import PoseError
from foley_models.render.ffmpeg import FFmpegError
from foley_models.render.fluidsynth import RenderError

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
    return parser


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
            split=args.split,
            max_persons=args.max_persons,
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
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished files are complete, nothing half-written", file=sys.stderr)
        return 130
    return 0

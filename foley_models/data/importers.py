"""Importers for real data researchers already have.

- `import_openpose`: per-frame OpenPose JSON folders (one folder per video, BODY_25 with hands)
  + MIDI + video -> a dataset folder with body65 poses.
- `import_foley_release`: the Foley Music data release: `[T, C, V, M]` pose `.npy` files at
  22 fps, MIDI files, and the release's `train.csv`/`val.csv` (`vid,start_time,duration`).
"""

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from foley_models.data.dataset import (
    DatasetError,
    Performance,
    load_midi,
    save_midi,
    save_npy,
    write_index,
)
from foley_models.data.layouts import BODY65, L_HAND_OFFSET, R_HAND_OFFSET, validate_pose


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(".partial-" + dst.name)
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def openpose_frame_to_body65(path: Path, max_persons: int) -> np.ndarray:
    """[3, 65, M] from one OpenPose JSON frame; people sorted by mean body confidence."""
    try:
        data = json.loads(Path(path).read_text())
        people = data["people"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not an OpenPose keypoints JSON file ({exc})") from None
    frame = np.zeros((3, BODY65.joints, max_persons), dtype=np.float32)
    parsed = []
    for person in people:
        try:
            body = np.asarray(person["pose_keypoints_2d"], dtype=np.float32).reshape(-1, 3)
            left = np.asarray(
                person.get("hand_left_keypoints_2d") or np.zeros(63), dtype=np.float32
            ).reshape(-1, 3)
            right = np.asarray(
                person.get("hand_right_keypoints_2d") or np.zeros(63), dtype=np.float32
            ).reshape(-1, 3)
        except (KeyError, ValueError) as exc:
            raise DatasetError(f"{path}: malformed person entry ({exc})") from None
        if body.shape != (25, 3) or left.shape != (21, 3) or right.shape != (21, 3):
            raise DatasetError(
                f"{path}: expected BODY_25 (25 points) and 21-point hands, got "
                f"{body.shape[0]}/{left.shape[0]}/{right.shape[0]} points"
            )
        parsed.append((float(body[:, 2].mean()), body, left, right))
    parsed.sort(key=lambda p: -p[0])
    for m, (_, body, left, right) in enumerate(parsed[:max_persons]):
        frame[:, :25, m] = body.T
        frame[:, L_HAND_OFFSET + 1 : L_HAND_OFFSET + 21, m] = left[1:].T
        frame[:, R_HAND_OFFSET + 1 : R_HAND_OFFSET + 21, m] = right[1:].T
    frame[2] = np.clip(frame[2], 0.0, 1.0)
    return frame


def import_openpose(
    *,
    keypoints: Path,
    out: Path,
    instrument: str,
    fps: float,
    midi: Path | None = None,
    video: Path | None = None,
    audio: Path | None = None,
    split: str = "train",
    max_persons: int = 1,
    transcribe: bool = False,
) -> list[Performance]:
    """Each subfolder of `keypoints` (or `keypoints` itself if it holds JSON files) is one
    performance; `<name>.mid` in `midi`, `<name>.mp4` in `video` and `<name>.wav` (or any audio
    ffmpeg reads) in `audio` are attached when present. The recording is the audio file, else
    the video's sound track. With `transcribe`, a performance without MIDI gets the MIDI of its
    recording transcribed (foley_models.transcribe, as the Foley Music paper made its MIDI);
    one without a recording is an error naming it."""
    keypoints, out = Path(keypoints), Path(out)
    if not keypoints.is_dir():
        raise DatasetError(f"{keypoints}: not a folder of OpenPose JSON files")
    folders = (
        [keypoints]
        if any(keypoints.glob("*.json"))
        else sorted(p for p in keypoints.iterdir() if p.is_dir())
    )
    if not folders:
        raise DatasetError(f"{keypoints}: no OpenPose JSON files found")
    existing = _existing_rows(out)
    for folder in folders:
        frames = sorted(folder.glob("*.json"))
        if not frames:
            raise DatasetError(f"{folder}: no OpenPose JSON files found")
        name = folder.name
        pose = np.stack([openpose_frame_to_body65(f, max_persons) for f in frames])
        validate_pose(pose, BODY65, source=folder, fps=fps)
        row = Performance(
            id=name,
            instrument=instrument,
            split=split,
            fps=fps,
            duration_s=round(len(frames) / fps, 4),
            layout="body65",
            pose=f"pose/{name}.npy",
        )
        save_npy(out / row.pose, pose)
        for attr, src_dir, suffixes in (
            ("midi", midi, (".mid", ".midi")),
            ("video", video, (".mp4", ".mov", ".mkv", ".webm")),
        ):
            src = _find(src_dir, name, suffixes)
            if src is not None:
                if attr == "midi":
                    load_midi(src)  # refuse a corrupt file now, naming it
                setattr(row, attr, f"{attr}/{name}{src.suffix}")
                _copy(src, out / getattr(row, attr))
        _attach_recording(row, out, _find(audio, name, AUDIO_SUFFIXES), video is not None)
        if transcribe and not row.midi:
            _transcribe_into(row, out)
        existing[row.id] = row
    write_index(out, list(existing.values()))
    return list(existing.values())


AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
RECORDING_RATE = 22050


def _attach_recording(row: Performance, out: Path, audio: Path | None, has_video: bool) -> None:
    """The performance's recording as audio/<id>.wav (mono, 22,050 Hz): from its audio file,
    else from its video's sound track (a video without sound gets none)."""
    from foley_models.render import ffmpeg

    source = audio
    if source is None and has_video and row.video:
        video = out / row.video
        try:
            streams = ffmpeg.probe(video).get("streams", [])
        except ffmpeg.FFmpegError:
            streams = []  # the video is not read here; a file ffprobe cannot read has no sound
        if any(s.get("codec_type") == "audio" for s in streams):
            source = video
    if source is None:
        return
    row.audio = f"audio/{row.id}.wav"
    target = out / row.audio
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.wav")
    try:
        ffmpeg.extract_audio(source, tmp, sample_rate=RECORDING_RATE)
        tmp.replace(target)
    except ffmpeg.FFmpegError as exc:
        raise DatasetError(f"{source}: its audio could not be read ({exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _transcribe_into(row: Performance, out: Path) -> None:
    from foley_models.render.audio_io import read_wav
    from foley_models.render.fluidsynth import gm_program
    from foley_models.transcribe import transcribe

    if not row.audio:
        raise DatasetError(
            f"{row.id}: --transcribe needs its recording (an --audio file, or a --video with "
            "sound), and it has none"
        )
    samples, rate = read_wav(out / row.audio)
    midi = transcribe(samples, rate, program=gm_program(row.instrument))
    row.midi = f"midi/{row.id}.mid"
    save_midi(out / row.midi, midi)


def _find(folder: Path | None, name: str, suffixes) -> Path | None:
    if folder is None:
        return None
    for suffix in suffixes:
        candidate = Path(folder) / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _existing_rows(out: Path) -> dict[str, Performance]:
    from foley_models.data.dataset import read_index

    if (Path(out) / "index.csv").is_file():
        return {p.id: p for p in read_index(out, check_files=False)}
    return {}


def import_foley_release(
    *,
    split_csv_dir: Path,
    pose_dir: Path,
    out: Path,
    instrument: str,
    midi_dir: Path | None = None,
    audio_dir: Path | None = None,
    layout: str = "body65",
    fps: float = 22.0,
) -> list[Performance]:
    """Import one instrument of the release. `train.csv` rows become train; `val.csv` rows
    become test (the official code evaluates on val). Rows of one video in both files are
    refused: splits must not share a recording."""
    split_csv_dir, pose_dir, out = Path(split_csv_dir), Path(pose_dir), Path(out)
    splits = {}
    for csv_name, split in (("train.csv", "train"), ("val.csv", "test")):
        path = split_csv_dir / csv_name
        if not path.is_file():
            raise DatasetError(f"{path}: missing (the release has train.csv and val.csv)")
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if not {"vid", "start_time", "duration"} <= set(reader.fieldnames or []):
                raise DatasetError(f"{path}: expected columns vid,start_time,duration")
            for line, row in enumerate(reader, start=2):
                vid = row["vid"]
                if vid in splits and splits[vid] != split:
                    raise DatasetError(f"{path}:{line}: video {vid!r} is in both train and val")
                splits[vid] = split
    existing = _existing_rows(out)
    for vid, split in sorted(splits.items()):
        src = pose_dir / f"{vid}.npy"
        if not src.is_file():
            raise DatasetError(f"{src}: pose file named by the split CSVs is missing")
        try:
            pose = np.load(src, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{src}: not a readable .npy file ({exc})") from None
        pose = validate_pose(
            pose.astype(np.float32) if pose.dtype == np.float64 else pose,
            layout,
            source=src,
            fps=fps,
        )
        row = Performance(
            id=vid,
            instrument=instrument,
            split=split,
            fps=fps,
            duration_s=round(pose.shape[0] / fps, 4),
            layout=layout,
            pose=f"pose/{vid}.npy",
        )
        save_npy(out / row.pose, pose)
        midi = _find(midi_dir, vid, (".midi", ".mid"))
        if midi_dir is not None and midi is None:
            raise DatasetError(f"{midi_dir}: no MIDI file for {vid!r}")
        if midi is not None:
            load_midi(midi)
            row.midi = f"midi/{vid}.mid"
            _copy(midi, out / row.midi)
        audio = _find(audio_dir, vid, (".wav",))
        if audio is not None:
            row.audio = f"audio/{vid}.wav"
            _copy(audio, out / row.audio)
        existing[row.id] = row
    write_index(out, list(existing.values()))
    return list(existing.values())

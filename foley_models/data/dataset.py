"""The dataset folder (docs/reference/dataset-folder.md): `index.csv` plus the files it names
(paths relative to it).

Columns: id, instrument, split, fps, duration_s, layout, pose, midi, audio, video; `midi`, `audio`
and `video` may be empty for inference-only data. Extra columns (the synthetic performer adds
`piece` and `performer`) are kept and ignored by readers that do not know them.
"""

import csv
import io
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi

from foley_models.data.layouts import LAYOUTS, validate_pose

COLUMNS = (
    "id",
    "instrument",
    "split",
    "fps",
    "duration_s",
    "layout",
    "pose",
    "midi",
    "audio",
    "video",
)
SPLITS = ("train", "val", "test")
KNOWN_INSTRUMENTS = (
    "piano",
    "violin",
    "viola",
    "cello",
    "contrabass",
    "guitar",
    "ukulele",
    "flute",
    "trumpet",
    "tuba",
    "bassoon",
    "accordion",
    "electric_bass",
    "xylophone",
    "saxophone",
    "clarinet",
    "erhu",
    "drum",
    "horn",
    "oboe",
)


class DatasetError(ValueError):
    """Bad dataset content; the message names the file (and line) at fault."""


@dataclass
class Performance:
    id: str
    instrument: str
    split: str
    fps: float
    duration_s: float
    layout: str
    pose: str
    midi: str = ""
    audio: str = ""
    video: str = ""
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# The mode a file made by open() gets here (mkstemp makes 0600: collaborators could not read).
FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """data written to a temporary file beside path, then renamed over it (readers see the old
    file or the new one, never half of it); the file gets the usual mode (FILE_MODE)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=path.suffix)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_npy(path: Path, array: np.ndarray) -> Path:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())


def save_midi(path: Path, pm: pretty_midi.PrettyMIDI) -> Path:
    buffer = io.BytesIO()
    pm.write(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def write_index(root: Path, performances: list[Performance]) -> Path:
    extra_keys = sorted({k for p in performances for k in p.extra})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, *extra_keys], lineterminator="\n")
    writer.writeheader()
    for p in performances:
        writer.writerow(p.row())
    return atomic_write_bytes(Path(root) / "index.csv", buffer.getvalue().encode())


def read_index(root: Path, *, check_files: bool = True) -> list[Performance]:
    """Read and check `index.csv`; errors name the file and line."""
    root = Path(root)
    index = root / "index.csv"
    if not index.is_file():
        raise DatasetError(f"{index}: no index.csv in the dataset folder")
    with index.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{index}: missing columns {', '.join(missing)}")
        performances, seen = [], set()
        for line, row in enumerate(reader, start=2):
            where = f"{index}:{line}"
            if row["id"] in seen:
                raise DatasetError(f"{where}: duplicate id {row['id']!r}")
            seen.add(row["id"])
            if row["instrument"] not in KNOWN_INSTRUMENTS:
                raise DatasetError(f"{where}: unknown instrument {row['instrument']!r}")
            if row["split"] not in SPLITS:
                raise DatasetError(f"{where}: split {row['split']!r} is not one of {SPLITS}")
            if row["layout"] not in LAYOUTS:
                raise DatasetError(f"{where}: unknown layout {row['layout']!r}")
            try:
                fps, duration = float(row["fps"]), float(row["duration_s"])
            except ValueError:
                raise DatasetError(f"{where}: fps and duration_s must be numbers") from None
            if not (1 <= fps <= 240 and duration > 0):
                raise DatasetError(f"{where}: implausible fps {fps} or duration {duration}")
            for column in ("pose", "midi", "audio", "video"):
                name = row[column]
                if column == "pose" and not name:
                    raise DatasetError(f"{where}: every performance needs a pose file")
                if name and check_files and not (root / name).is_file():
                    raise DatasetError(f"{where}: {column} file {root / name} is missing")
            extra = {k: v for k, v in row.items() if k not in COLUMNS}
            performances.append(
                Performance(
                    id=row["id"],
                    instrument=row["instrument"],
                    split=row["split"],
                    fps=fps,
                    duration_s=duration,
                    layout=row["layout"],
                    pose=row["pose"],
                    midi=row["midi"],
                    audio=row["audio"],
                    video=row["video"],
                    extra=extra,
                )
            )
    return performances


def load_pose(root: Path, performance: Performance) -> np.ndarray:
    path = Path(root) / performance.pose
    try:
        pose = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable .npy pose array ({exc})") from None
    return validate_pose(pose, performance.layout, source=path, fps=performance.fps)


def load_midi(path: Path) -> pretty_midi.PrettyMIDI:
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # pretty_midi/mido raise many types for corrupt files
        raise DatasetError(f"{path}: not a readable MIDI file ({exc})") from None

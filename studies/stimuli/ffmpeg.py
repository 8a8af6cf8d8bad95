"""Small wrappers around the ffmpeg and ffprobe programs (Debian's `ffmpeg` package)."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class FFmpegError(RuntimeError):
    pass


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FFmpegError(f"{name} is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
    return path


def run_ffmpeg(args: list[str], out: Path) -> Path:
    """Run ffmpeg writing to a temporary file beside `out`, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".partial-", suffix=out.suffix)
    os.close(fd)
    cmd = [_tool("ffmpeg"), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args, tmp]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise FFmpegError(f"ffmpeg failed making {out.name}: {proc.stderr.strip()[-2000:]}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def probe(path: Path) -> dict:
    """ffprobe's format and streams for a file, as a dict."""
    cmd = [
        _tool("ffprobe"),
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise FFmpegError(f"ffprobe cannot read {path.name}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def duration_s(path: Path) -> float:
    """The container duration in seconds."""
    return float(probe(path)["format"]["duration"])

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


class VideoWriter:
    """Stream raw RGB frames into an H.264 MP4 (yuv420p, faststart, no metadata).

    Written to a temporary file beside `out` and renamed on a clean close; an exception or an
    interrupted run leaves no file at `out`.
    """

    def __init__(self, out: Path, *, width: int, height: int, fps: float, crf: int = 28) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.out.parent, prefix=".partial-", suffix=".mp4")
        os.close(fd)
        self.frame_bytes = width * height * 3
        cmd = [
            _tool("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps}",
            "-i", "pipe:0", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-threads", "1", self.tmp,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: bytes) -> None:
        if len(frame) != self.frame_bytes:
            raise ValueError(f"frame has {len(frame)} bytes, expected {self.frame_bytes}")
        self.proc.stdin.write(frame)

    def close(self) -> Path:
        self.proc.stdin.close()
        err = self.proc.stderr.read().decode(errors="replace")
        if self.proc.wait() != 0:
            self.abort()
            raise FFmpegError(f"ffmpeg failed writing {self.out.name}: {err.strip()[-2000:]}")
        os.replace(self.tmp, self.out)
        return self.out

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# Stimulus encoding: H.264 (yuv420p, main profile) + AAC in MP4 with the index up front
# (faststart) and no container metadata (no title, encoder, creation time, handler names that a
# curious participant could read).
_STRIP = [
    "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
    "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-movflags", "+faststart",
]  # fmt: skip


def cut_video(
    src: Path, out: Path, *, start_s: float, n_frames: int, fps: float, width: int | None = None
) -> Path:
    """`n_frames` frames of `src` from `start_s`, re-encoded silent at `fps` (H.264, yuv420p,
    even dimensions, stripped). The result lasts exactly n_frames / fps seconds."""
    scale = f"scale={width}:-2" if width else "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    args = [
        "-ss", f"{start_s:.6f}", "-i", str(src), "-an", "-sn", "-dn",
        "-vf", f"fps={fps},{scale}", "-frames:v", str(int(n_frames)), "-r", f"{fps}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-profile:v", "main", "-threads", "1", *_STRIP,
    ]  # fmt: skip
    return run_ffmpeg(args, out)


# Stimulus audio: constant-bitrate MP3 (LAME CBR). Every MP3 frame has a size fixed by the
# bitrate and sample rate alone (the padding-bit pattern too), never by the content, so the
# versions of an item (same video stream copied, same audio length) come out byte for byte the
# same length with the same sample tables: the file size cannot tell a system or a check
# answer. AAC (average bitrate) sizes follow the content. MP3 in MP4 plays in every browser.
STIMULUS_AUDIO = ["-c:a", "libmp3lame", "-b:a", "192k", "-abr", "0", "-ac", "1"]


def mux_clip(video: Path, audio_wav: Path, out: Path) -> Path:
    """The (already prepared, silent H.264) video with the WAV as mono CBR MP3, MP4, stripped.

    The video stream is copied, so every clip of an item has the identical picture."""
    args = [
        "-i", str(video), "-i", str(audio_wav), "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "copy", *STIMULUS_AUDIO, *_STRIP,
    ]  # fmt: skip
    return run_ffmpeg(args, out)


def reencode_audio(src: Path, out: Path) -> Path:
    """An uploaded clip with its video copied and its audio re-encoded like generated clips
    (mono CBR MP3), stripped: so hand-made clips also give nothing away by their size."""
    args = [
        "-i", str(src), "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy", *STIMULUS_AUDIO, *_STRIP,
    ]  # fmt: skip
    return run_ffmpeg(args, out)


def frame_rate(path: Path) -> float:
    """The first video stream's frame rate."""
    for stream in probe(path).get("streams", []):
        if stream.get("codec_type") == "video":
            num, _, den = stream.get("r_frame_rate", "0/1").partition("/")
            if float(den or 1) > 0 and float(num) > 0:
                return float(num) / float(den or 1)
    raise FFmpegError(f"{Path(path).name} has no video stream with a frame rate")


def extract_audio(src: Path, out: Path, *, sample_rate: int) -> Path:
    """The audio of any file ffmpeg reads, as mono 16-bit WAV at `sample_rate`."""
    args = ["-i", str(src), "-vn", "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le"]
    return run_ffmpeg(args, out)


def container_tags(path: Path) -> dict:
    """Every metadata tag in the container and its streams (for blinding checks)."""
    info = probe(path)
    tags = dict(info.get("format", {}).get("tags", {}))
    for i, stream in enumerate(info.get("streams", [])):
        for key, value in stream.get("tags", {}).items():
            tags[f"stream{i}:{key}"] = value
    return tags

"""Mono WAV reading and writing (16-bit PCM), written atomically."""

import os
import tempfile
import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio in [-1, 1] as 16-bit PCM via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0) * 32767.0).round()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=".wav")
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(pcm.astype("<i2").tobytes())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 audio in [-1, 1] and its sample rate (channels are averaged)."""
    try:
        with wave.open(str(path), "rb") as w:
            n, channels, width, rate = (
                w.getnframes(),
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
            )
            raw = w.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable WAV file ({exc})") from None
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM WAV is supported (sample width {width})")
    audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return audio.reshape(-1, channels).mean(axis=1), rate

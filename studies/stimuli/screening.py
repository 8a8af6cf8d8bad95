"""Screening sounds, generated on the server from a seed (the answers never leave the server).

- Headphone check: Huggins pitch (Milne et al. 2021, Behav. Res. Methods 53:1551). Three
  intervals of white noise; in one, a narrow band around 600 Hz (+-6 %) has its phase inverted in
  the right channel only. Through headphones that interval carries a faint pitch; over
  loudspeakers the channels mix in the air and all three sound alike.
- Audio check: a few faint 1 kHz beeps to count, at a low level so the volume must be set up.
"""

import hashlib
import io
import wave

import numpy as np

RATE = 44100
INTERVAL_S, GAP_S, RAMP_S = 1.0, 0.5, 0.02
HUGGINS_HZ, HUGGINS_BW = 600.0, 0.06


def seed_for(session_token: str, index: int) -> int:
    digest = hashlib.sha256(f"{session_token}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _ramp(x: np.ndarray) -> np.ndarray:
    n = int(RAMP_S * RATE)
    window = np.ones(len(x))
    window[:n] = np.sin(np.linspace(0, np.pi / 2, n)) ** 2
    window[-n:] = window[:n][::-1]
    return x * window[:, None] if x.ndim == 2 else x * window


def huggins_interval(rng: np.random.Generator, with_pitch: bool) -> np.ndarray:
    """One interval [n, 2]: diotic noise, or noise with the Huggins band inverted on the right."""
    n = int(INTERVAL_S * RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    if with_pitch:
        freqs = np.fft.rfftfreq(n, 1 / RATE)
        band = (freqs > HUGGINS_HZ * (1 - HUGGINS_BW)) & (freqs < HUGGINS_HZ * (1 + HUGGINS_BW))
        spectrum[band] *= -1.0
    right = np.fft.irfft(spectrum, n)
    stereo = np.stack([noise, right], axis=1)
    return _ramp(stereo / np.sqrt(np.mean(stereo**2)) * 0.1)


def headphone_trial(seed: int) -> tuple[np.ndarray, int]:
    """Three intervals with gaps [n, 2], and which one (1-3) carries the pitch."""
    rng = np.random.default_rng(seed)
    answer = int(rng.integers(1, 4))
    gap = np.zeros((int(GAP_S * RATE), 2))
    parts = []
    for i in (1, 2, 3):
        parts += [huggins_interval(rng, with_pitch=i == answer), gap]
    return np.concatenate(parts[:-1]), answer


def beeps(seed: int) -> tuple[np.ndarray, int]:
    """2 to 5 faint beeps (-30 dBFS) at irregular spacing [n, 2], and how many."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 6))
    t = np.arange(int(0.15 * RATE)) / RATE
    beep = _ramp(np.sin(2 * np.pi * 1000 * t) * 10 ** (-30 / 20))
    parts = [np.zeros(int(0.3 * RATE))]
    for _ in range(count):
        parts += [beep, np.zeros(int(rng.uniform(0.3, 0.6) * RATE))]
    # Always 4 s long, so the file's length does not give the count away.
    audio = np.concatenate(parts)
    audio = np.pad(audio, (0, max(0, int(4.0 * RATE) - len(audio))))[: int(4.0 * RATE)]
    return np.stack([audio, audio], axis=1), count


def wav_bytes(stereo: np.ndarray) -> bytes:
    pcm = (np.clip(stereo, -1, 1) * 32767).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()

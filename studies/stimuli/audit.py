"""The sound of each clip as the launch check sees it: a fingerprint of its decoded audio (two
items with bit-identical soundtracks mean a broken system or a copied file; a weak checkpoint
once gave the same audio for two items), its level (a silent clip) and how much of it sits at
full scale (a clipped one).

Every clip is audited once, by one procedure (decoded by ffmpeg to mono 16-bit PCM at 16 kHz,
so equal audio gives equal samples whichever way the clip was made), and the result is kept in
`Clip.provenance["audio"]` with the file name it describes; launch audits what lacks one.
"""

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from foley_models.render import ffmpeg
from foley_models.render.audio_io import read_wav

AUDIT_SAMPLE_RATE = 16_000
SILENT_DBFS = -60.0  # RMS below this: silent
FULL_SCALE = 0.999
CLIPPED_SHARE = 0.001  # more than this share of samples at full scale: clipped


def audio_audit(samples: np.ndarray) -> dict:
    """Fingerprint, peak, RMS level and share of full-scale samples of mono audio in [-1, 1]."""
    samples = np.asarray(samples, dtype=np.float32)
    if not len(samples):
        return {"sha256": hashlib.sha256(b"").hexdigest(), "peak": 0.0, "rms_dbfs": -200.0,
                "clipped_share": 0.0}  # fmt: skip
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return {
        "sha256": hashlib.sha256(samples.tobytes()).hexdigest(),
        "peak": round(float(np.max(np.abs(samples))), 4),
        "rms_dbfs": round(20 * np.log10(max(rms, 1e-10)), 2),
        "clipped_share": round(float(np.mean(np.abs(samples) >= FULL_SCALE)), 5),
    }


def file_audit(path: Path) -> dict:
    """audio_audit of a media file's soundtrack; ValueError if ffmpeg cannot decode one."""
    with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
        try:
            wav = ffmpeg.extract_audio(
                Path(path), Path(tmp) / "audio.wav", sample_rate=AUDIT_SAMPLE_RATE
            )
        except Exception as exc:  # ffmpeg's own message names the problem
            raise ValueError(f"its soundtrack cannot be decoded: {exc}") from None
        return audio_audit(read_wav(wav)[0])


def audit_problems(audits: list[tuple[str, str, dict]]) -> list[str]:
    """Sentences for the launch check from (item key, system key, audit) triples: silent
    clips, clipped clips, and every group of clips of different items whose soundtracks are
    bit-identical (the versions of one item may share a soundtrack: a system repeated on
    purpose, or a copy as a sanity check)."""
    problems, by_hash = [], {}
    for item, system, audit in audits:
        label = f"{item!r}/{system!r}"
        if audit.get("error"):
            problems.append(f"Clip {label}: {audit['error']}.")
            continue
        if audit["rms_dbfs"] < SILENT_DBFS:
            problems.append(f"Clip {label} is silent (RMS {audit['rms_dbfs']:.0f} dBFS).")
        if audit["clipped_share"] > CLIPPED_SHARE:
            problems.append(
                f"Clip {label} is clipped: {100 * audit['clipped_share']:.1f}% of its samples "
                "are at full scale."
            )
        by_hash.setdefault(audit["sha256"], []).append((item, label))
    for group in by_hash.values():
        if len({item for item, _ in group}) > 1:
            labels = [label for _, label in group]
            problems.append(
                f"Clips {', '.join(labels)} have bit-identical soundtracks; a system that gives "
                "the same audio for different videos (or a copied file) compares nothing. "
                "Regenerate or replace them."
            )
    return problems

"""Preflight of a stimulus file: will it play, the same way, in every rater's browser?

Checked for every clip before launch (generated, uploaded or imported), the result kept with
the clip for its current file (Clip.provenance["preflight"]):
- an MP4 (ISO BMFF) whose `moov` box comes before `mdat` (faststart: playback starts before
  the whole file has arrived);
- exactly one video stream: H.264, yuv420p (4:2:0, what every browser decodes), profile
  Constrained Baseline, Baseline, Main or High, level at most 5.1;
- exactly one audio stream, MP3 or AAC (both play in MP4 in every current browser; the
  platform's own clips carry CBR MP3 so every version of an item has one size);
- integrated loudness (ITU-R BS.1770) within LOUDNESS_TOLERANCE_LU of the study target.
Durations and sizes per item are the launch check's own (selectors.stimuli).
"""

import struct
import tempfile
from pathlib import Path

from foley_models.render import ffmpeg, loudness
from foley_models.render.audio_io import read_wav

PROFILES = ("Constrained Baseline", "Baseline", "Main", "High")
MAX_LEVEL = 51  # H.264 level 5.1: up to 4K at 30 fps, far beyond a stimulus
AUDIO_CODECS = ("mp3", "aac")
LOUDNESS_TOLERANCE_LU = 1.0
LOUDNESS_RATE = 44_100


def top_level_boxes(path: Path, limit: int = 64) -> list[str]:
    """The types of an ISO BMFF file's top-level boxes, in order (empty if it is not one)."""
    boxes = []
    size_of = Path(path).stat().st_size
    with Path(path).open("rb") as handle:
        offset = 0
        while offset < size_of and len(boxes) < limit:
            handle.seek(offset)
            header = handle.read(8)
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
            elif size == 0:
                size = size_of - offset
            if size < 8 or not kind.isascii():
                break
            boxes.append(kind.decode("ascii", "replace"))
            offset += size
    return boxes


def clip_preflight(path: Path, *, target_lufs: float) -> list[str]:
    """Every reason the file may not play as a stimulus; empty when it passes."""
    path = Path(path)
    try:
        info = ffmpeg.probe(path)
    except Exception as exc:
        return [f"cannot be read: {str(exc).strip().splitlines()[-1][:200]}"]
    problems = []
    boxes = top_level_boxes(path)
    if "mov" not in info.get("format", {}).get("format_name", "") or "moov" not in boxes:
        problems.append("is not an MP4 file")
    elif "mdat" in boxes and boxes.index("moov") > boxes.index("mdat"):
        problems.append("its index (moov) comes after the media data: not faststart")
    streams = info.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video"]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if len(video) != 1:
        problems.append(f"has {len(video)} video streams (one is needed)")
    else:
        v = video[0]
        if v.get("codec_name") != "h264":
            problems.append(f"video codec {v.get('codec_name')!r} (H.264 is needed)")
        else:
            if v.get("pix_fmt") != "yuv420p":
                problems.append(f"pixel format {v.get('pix_fmt')!r} (yuv420p plays everywhere)")
            if v.get("profile") not in PROFILES:
                problems.append(f"H.264 profile {v.get('profile')!r} (use Main or High)")
            if int(v.get("level") or 0) > MAX_LEVEL:
                problems.append(f"H.264 level {int(v['level']) / 10:g} (at most 5.1)")
    if len(audio) != 1:
        problems.append(f"has {len(audio)} audio streams (one is needed)")
        return problems
    if audio[0].get("codec_name") not in AUDIO_CODECS:
        problems.append(f"audio codec {audio[0].get('codec_name')!r} (MP3 or AAC)")
    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        try:
            wav = ffmpeg.extract_audio(path, Path(tmp) / "a.wav", sample_rate=LOUDNESS_RATE)
        except Exception:
            problems.append("its soundtrack cannot be decoded")
            return problems
        level = loudness.integrated_lufs(read_wav(wav)[0], LOUDNESS_RATE)
    if not abs(level - target_lufs) <= LOUDNESS_TOLERANCE_LU:
        problems.append(
            f"loudness {level:.1f} LUFS, more than {LOUDNESS_TOLERANCE_LU:g} LU from the "
            f"target {target_lufs:g} LUFS"
        )
    return problems

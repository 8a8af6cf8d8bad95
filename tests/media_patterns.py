"""Test-pattern media made with ffmpeg, for tests that need real MP4s in a second.

The platform's own stimuli come from the four systems (studies.stimuli.generation); these
stand in for them where a test is about the platform, not the stimuli. Every item is a moving
test card with a white box that flashes on a beat (every 2 s, offset per item); every "system" is
a different synthetic sound that beeps on the same beat. Check material: clean beeps vs the same
beeps under loud noise, beeps on the flashes vs beeps shifted by one second.
H.264 (yuv420p, faststart) + CBR MP3 in MP4 with container metadata stripped.
"""

from pathlib import Path

from foley_models.render.ffmpeg import run_ffmpeg

FPS = 25
SAMPLE_RATE = 44100
BEAT_PERIOD_S = 2.0
FLASH_S = 0.2
SYNC_SHIFT_S = 1.0

# Sound per slot-producing "system": an aevalsrc expression of t (before gating by the beat).
VOICES = (
    "sin(2*PI*440*t)",
    "0.6*sin(2*PI*330*t)+0.3*sin(2*PI*660*t)+0.1*sin(2*PI*990*t)",
    "0.8*sin(2*PI*523.25*t)*sin(2*PI*3*t)",
    "0.5*(2*gt(sin(2*PI*262*t),0)-1)",
    "sin(2*PI*392*t+3*sin(2*PI*5*t))",
    "0.7*sin(2*PI*196*t)+0.3*sin(2*PI*784*t)",
)

_VIDEO = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-profile:v", "main"]
# Constant-bitrate MP3 like the platform's stimuli: the versions of an item have one size.
_AUDIO = ["-c:a", "libmp3lame", "-b:a", "128k", "-ar", str(SAMPLE_RATE), "-ac", "2"]
_CONTAINER = [
    "-movflags",
    "+faststart",
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-fflags",
    "+bitexact",
]


def _gate(offset_s: float) -> str:
    """1 during a beep (every BEAT_PERIOD_S from offset_s), else 0."""
    return f"lt(mod(t-{offset_s:.3f}+{4 * BEAT_PERIOD_S},{BEAT_PERIOD_S}),{FLASH_S})"


def _video_filter(duration_s: float, offset_s: float, hue: int) -> str:
    return (
        f"testsrc2=size=640x360:rate={FPS}:duration={duration_s},hue=h={hue},"
        f"drawbox=x=270:y=130:w=100:h=100:color=white@1:t=fill:"
        f"enable='{_gate(offset_s)}'"
    )


def _audio_filter(duration_s: float, voice: str, beat_offset_s: float, noise: float) -> str:
    expr = f"0.5*({voice})*{_gate(beat_offset_s)}"
    if noise > 0:
        expr += f"+{noise}*(2*random(0)-1)"
    return f"aevalsrc='{expr}':s={SAMPLE_RATE}:d={duration_s}"


def make_clip(
    out: Path,
    *,
    duration_s: float,
    item_offset_s: float,
    hue: int,
    voice: int,
    audio_shift_s: float = 0.0,
    noise: float = 0.0,
    gain_db: float = 0.0,
) -> Path:
    """One MP4: the item's test card with a voice beeping on (or shifted from) its flashes,
    its audio gained by gain_db."""
    args = [
        "-f",
        "lavfi",
        "-i",
        _video_filter(duration_s, item_offset_s, hue),
        "-f",
        "lavfi",
        "-i",
        _audio_filter(duration_s, VOICES[voice % len(VOICES)], item_offset_s + audio_shift_s, noise)
        + f",volume={gain_db:.3f}dB",
        "-t",
        f"{duration_s}",
        *_VIDEO,
        *_AUDIO,
        *_CONTAINER,
    ]
    return run_ffmpeg(args, out)


def make_silent_video(out: Path, *, duration_s: float, item_offset_s: float, hue: int) -> Path:
    args = [
        "-f",
        "lavfi",
        "-i",
        _video_filter(duration_s, item_offset_s, hue),
        "-t",
        f"{duration_s}",
        "-an",
        *_VIDEO,
        *_CONTAINER,
    ]
    return run_ffmpeg(args, out)


def make_clip_at_loudness(out: Path, *, target_lufs: float = -23.0, **kwargs) -> Path:
    """make_clip, then made again with the gain that puts its decoded soundtrack at
    target_lufs (as the platform's own stimuli are: an uploaded clip must be, to pass the
    launch's preflight)."""
    import tempfile

    from foley_models.render import ffmpeg, loudness
    from foley_models.render.audio_io import read_wav

    make_clip(out, **kwargs)
    with tempfile.TemporaryDirectory() as tmp:
        wav = ffmpeg.extract_audio(out, Path(tmp) / "a.wav", sample_rate=44100)
        level = loudness.integrated_lufs(read_wav(wav)[0], 44100)
    return make_clip(out, gain_db=target_lufs - level, **kwargs)

"""MIDI notes -> audio through FluidSynth with a General MIDI soundfont.

Deterministic: reverb and chorus are off, so the same notes always give the same samples.
"""

from pathlib import Path

import numpy as np

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm (MIT licence)
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)

# General MIDI programs (0-based) of the instruments the project knows.
GM_PROGRAMS = {
    "piano": 0,  # Acoustic Grand Piano
    "guitar": 24,  # Acoustic Guitar (nylon)
    "violin": 40,
    "viola": 41,
    "cello": 42,
    "contrabass": 43,
    "trumpet": 56,
    "tuba": 58,
    "flute": 73,
    "bassoon": 70,
    "accordion": 21,
    "ukulele": 25,  # Acoustic Guitar (steel), as the official code
    "electric_bass": 33,
}


class RenderError(RuntimeError):
    pass


def find_soundfont(path: str | Path | None = None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise RenderError(f"soundfont {p} does not exist")
        return p
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError(
        "no General MIDI soundfont found; install Debian's fluid-soundfont-gm "
        "(apt-get install fluid-soundfont-gm)"
    )


def gm_program(instrument: str) -> int:
    try:
        return GM_PROGRAMS[instrument]
    except KeyError:
        known = ", ".join(sorted(GM_PROGRAMS))
        raise ValueError(f"unknown instrument {instrument!r}; known: {known}") from None


class Renderer:
    """Renders notes with FluidSynth. Each render uses a fresh synthesizer: FluidSynth works in
    64-sample blocks and a reused one starts mid-block, which would shift note timings."""

    def __init__(
        self, sample_rate: int = 22050, soundfont: str | Path | None = None, gain: float = 0.6
    ) -> None:
        try:
            import fluidsynth
        except (ImportError, OSError) as exc:  # pyfluidsynth needs libfluidsynth
            raise RenderError(
                f"FluidSynth is not available ({exc}); install libfluidsynth3 and pyfluidsynth"
            ) from None
        self._fluidsynth = fluidsynth
        self.sample_rate = int(sample_rate)
        self.soundfont = str(find_soundfont(soundfont))
        self.gain = gain

    def _new_synth(self):
        synth = self._fluidsynth.Synth(
            gain=self.gain,
            samplerate=float(self.sample_rate),
            **{"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.cpu-cores": 1},
        )
        sfid = synth.sfload(self.soundfont)
        if sfid < 0:
            synth.delete()
            raise RenderError(f"FluidSynth could not load the soundfont {self.soundfont}")
        return synth, sfid

    def render(
        self, notes, instrument: str, *, duration_s: float | None = None, tail_s: float = 0.5
    ) -> np.ndarray:
        """Mono float32 audio of the notes on the instrument's GM program.

        Length: `duration_s` when given (notes are cut there), else the last note-off plus
        `tail_s`.
        """
        program = gm_program(instrument)
        synth, sfid = self._new_synth()
        try:
            return self._render(synth, sfid, program, notes, duration_s, tail_s)
        finally:
            synth.delete()

    def _render(self, synth, sfid, program, notes, duration_s, tail_s) -> np.ndarray:
        synth.program_select(0, sfid, 0, program)
        events = []
        for n in notes:
            events.append((float(n.start), 1, int(n.pitch), int(n.velocity)))
            events.append((float(n.end), 0, int(n.pitch), 0))
        events.sort(key=lambda e: (e[0], e[1]))
        end_s = (
            duration_s
            if duration_s is not None
            else ((max(e[0] for e in events) if events else 0.0) + tail_s)
        )
        total = int(round(end_s * self.sample_rate))
        chunks, done = [], 0
        for time_s, is_on, pitch, velocity in events:
            at = min(int(round(time_s * self.sample_rate)), total)
            if at > done:
                chunks.append(synth.get_samples(at - done))
                done = at
            if at >= total:
                break
            if is_on:
                synth.noteon(0, pitch, velocity)
            else:
                synth.noteoff(0, pitch)
        if total > done:
            chunks.append(synth.get_samples(total - done))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        stereo = np.concatenate(chunks).astype(np.float32).reshape(-1, 2)
        return (stereo.mean(axis=1) / 32768.0).astype(np.float32)

"""An honest rater, written once for every engine (tests/browser/engines.py): they arrive with
their platform ID, agree, pass the screen and sound checks (the test knows the right answers, as
a rater with working headphones would), do the latency check where the study has one, listen to
every version of every trial to the end with the player the study uses, answer, and read the
completion code. Only trusted clicks and key presses act on the page; scripts only read it,
except the latency check's tapper (it taps on what the page plays, as a rater taps on what
they see and hear) and the sliders (moved by key presses)."""

import time
from dataclasses import dataclass, field

from tests.browser.engines import Timeout

# The latency check's tapper: taps (Space) when the square turns dark, and when a beep
# reaches it (an analyser on the page's output, heard after the output latency the browser
# reports for the device). tests/browser/test_latency_check_in_chromium.py checks it recovers
# an injected delay.
TAPPER = """() => {
  const tapNow = () => document.dispatchEvent(new KeyboardEvent("keydown", { key: " " }));
  const flash = document.getElementById("latency-flash");
  new MutationObserver(() => { if (flash.classList.contains("on")) tapNow(); })
    .observe(flash, { attributes: true });
  let attached = null;
  const watch = () => {
    const lc = window.foleyLatencyCheck;
    if (lc && lc.output !== attached) {
      attached = lc.output;
      const an = lc.ctx.createAnalyser();
      an.fftSize = 1024;
      lc.output.connect(an);
      const buf = new Float32Array(an.fftSize);
      let sounding = false;
      const poll = () => {
        if (attached !== lc.output) return;
        an.getFloatTimeDomainData(buf);
        let idx = -1;
        for (let i = 0; i < buf.length; i++) { if (Math.abs(buf[i]) > 0.05) { idx = i; break; } }
        if (idx >= 0 && !sounding) {
          sounding = true;
          const device = ((lc.ctx.outputLatency || 0) + (lc.ctx.baseLatency || 0)) * 1000;
          const onset = performance.now() - ((buf.length - idx) / lc.ctx.sampleRate) * 1000;
          window.setTimeout(tapNow, Math.max(0, onset + device - performance.now()));
        } else if (idx < 0) {
          sounding = false;
        }
        window.setTimeout(poll, 1);
      };
      poll();
    }
    window.setTimeout(watch, 20);
  };
  watch();
  return true;
}"""

PAGE = """() => {
  if (document.getElementById("completion-code")) return "complete";
  if (document.getElementById("device-check")) return "device";
  if (document.getElementById("screening")) return "screening";
  if (document.getElementById("switch-player")) return "switch";
  if (document.getElementById("trial")) return "separate";
  if (document.querySelector("input[name=consent]")) return "consent";
  if (document.querySelector(".screened-out, #screenout-code")) return "screened_out";
  return "";
}"""

MAX_PLAY_S = 20.0  # one version, from the click to "heard" (a 2 s clip; slow engines start late)


@dataclass
class Run:
    """What the rater saw: the pages in order, what each play cost, the completion code."""

    pages: list[str] = field(default_factory=list)
    replays: int = 0  # plays that were not credited and had to be repeated (target 0)
    code: str | None = None
    telemetry: list[dict] = field(default_factory=list)  # per trial: the page's samples


def page_kind(rater, timeout: float = 20.0) -> str:
    return rater.wait(PAGE, timeout=timeout, what="a participant page")


def complete_session(rater, url: str, *, screening_answers=None, answer=None, max_pages=40) -> Run:
    """Do a whole session from `url` (the study's link with the platform ID). screening_answers:
    a function giving {input name: value} for the sound checks on screen. answer(rater, design)
    fills in a trial's questions (default: `answer_trial`)."""
    run = Run()
    rater.goto(url)
    for _ in range(max_pages):
        kind = page_kind(rater)
        run.pages.append(kind)
        if kind == "complete":
            run.code = rater.text("#completion-code").strip()
            return run
        if kind == "screened_out":
            raise AssertionError(f"{rater.name}: screened out: {rater.summary()}")
        before = rater.call("() => location.href + '#' + performance.timeOrigin")
        if kind == "consent":
            rater.act("input[name=consent]")
            rater.act("form[action=consent] button[type=submit]")
        elif kind == "device":
            rater.wait("() => !document.querySelector('#device-check button').disabled")
            rater.act("#device-check button[type=submit]")
        elif kind == "screening":
            sound_checks(rater, screening_answers() if screening_answers else {})
            rater.act("#screening button[name=continue]")
        else:
            run.replays += listen_separate(rater) if kind == "separate" else listen_switch(rater)
            # The page's own figures (sync offsets and switching gaps of the switching player).
            run.telemetry.append(rater.call("() => window.foleyAnswers.samples || {}"))
            (answer or answer_trial)(rater)
            rater.wait("() => !document.getElementById('submit').disabled", what="submit enabled")
            rater.act("#submit")
        rater.wait("(before) => location.href + '#' + performance.timeOrigin !== before",
                   before, what=f"the page after {kind}")  # fmt: skip
    raise AssertionError(f"{rater.name}: no completion page after {max_pages} pages: {run.pages}")


def sound_checks(rater, answers: dict[str, str]) -> None:
    items = rater.call("() => Array.from(document.querySelectorAll('fieldset.screen-item')).length")
    for n in range(items):
        rater.wait("(n) => !document.querySelectorAll('fieldset.screen-item button')[n].disabled",
                   n, what=f"sound {n + 1} ready")  # fmt: skip
        name = rater.call(
            "(n) => document.querySelectorAll('fieldset.screen-item')[n].querySelector('input').name",
            n,
        )
        rater.call(
            "(n) => document.querySelectorAll('fieldset.screen-item')[n].id = 'sound-' + n", n
        )
        rater.act(f"#sound-{n} button.play-sound")
        rater.wait("(n) => document.querySelector('#sound-' + n + ' .status').textContent === 'heard ✓'",
                   n, timeout=MAX_PLAY_S, what=f"sound {n + 1} heard")  # fmt: skip
        rater.act(f"#sound-{n} input[value='{answers[name]}']")
    if rater.exists("#latency-check"):
        rater.call(TAPPER)
        rater.act("#latency-start")
        rater.wait("() => (document.getElementById('latency-status').textContent || '').includes('✓')",
                   timeout=60, what="the latency check done")  # fmt: skip


def listen_separate(rater) -> int:
    """Play every version to the end, one at a time; how many plays had to be repeated."""
    rater.wait("() => Array.from(document.querySelectorAll('button.play')).every(b => !b.disabled)",
               what="every version ready")  # fmt: skip
    labels = rater.call(
        "() => Array.from(document.querySelectorAll('section.slot')).map(e => e.dataset.slot)"
    )
    replays = 0
    for label in labels:
        status = f"section.slot[data-slot='{label}'] .status"
        for attempt in range(2):
            rater.act(f"section.slot[data-slot='{label}'] button.play")
            done = rater.wait(
                "(css) => { const t = document.querySelector(css).textContent;"
                " return (t === 'heard ✓' || t.startsWith('not heard') || t.startsWith('could not')) && t; }",
                status, timeout=MAX_PLAY_S, what=f"version {label} heard",
            )  # fmt: skip
            if done == "heard ✓":
                break
            replays += 1
            if attempt == 1:
                raise AssertionError(f"{rater.name}: version {label} refused twice: {done!r}")
    return replays


def listen_switch(rater) -> int:
    """With the switching player: for each version, select it (its key), play from the start
    (Space) and let the clip run to its end."""
    rater.wait("() => !document.getElementById('play-pause').disabled", timeout=30,
               what="the switching player ready")  # fmt: skip
    n = rater.call("() => document.querySelectorAll('button.version').length")
    replays = 0
    for i in range(n):
        for attempt in range(2):
            rater.act(f"button.version:nth-of-type({i + 1})")
            rater.act("#play-pause")
            rater.wait("() => window.foleySwitchPlayer.state().playing", what="playing")
            rater.wait("() => !window.foleySwitchPlayer.state().playing", timeout=MAX_PLAY_S,
                       what=f"version {i + 1} played to its end")  # fmt: skip
            try:
                rater.wait(
                    "(i) => window.foleySwitchPlayer.state().heard[i]", i, timeout=5,
                    what=f"version {i + 1} credited",
                )  # fmt: skip
                break
            except Timeout:
                replays += 1  # not credited: the rater plays it again, once
                if attempt == 1:
                    raise
    # Then compare, as raters do: play once more, switching to the next version every 0.4 s.
    rater.act("#play-pause")
    rater.wait("() => window.foleySwitchPlayer.state().playing", what="playing again")
    k = 0
    while rater.call("() => window.foleySwitchPlayer.state().playing"):
        k += 1
        rater.press(str(1 + k % n))
        time.sleep(0.4)
    return replays


def answer_trial(rater) -> None:
    """Answer every question of the trial's design: the first version in a choice, 3 on a
    rating scale, each slider moved one step up with the keyboard."""
    rater.call(
        "() => { document.querySelectorAll('fieldset.criterion').forEach((f, i) => f.id = 'q-' + i); }"
    )
    n = rater.call("() => document.querySelectorAll('fieldset.criterion').length")
    for q in range(n):
        kind = rater.call(
            "(q) => { const f = document.getElementById('q-' + q);"
            " return f.classList.contains('mushra') ? 'mushra' : f.classList.contains('rating') ? 'rating' : 'choice'; }",
            q,
        )  # fmt: skip
        if kind == "choice":
            rater.act(f"#q-{q} input[type=radio]")
        elif kind == "rating":
            rows = rater.call(
                "(q) => document.querySelectorAll('#q-' + q + ' .rating-row').length", q
            )
            for r in range(rows):
                rater.act(f"#q-{q} .rating-row:nth-of-type({r + 1}) input[value='3']")
        else:
            sliders = rater.call(
                "(q) => Array.from(document.querySelectorAll('#q-' + q + ' input[type=range]')).map(s => s.id)",
                q,
            )
            for slider in sliders:
                rater.act(f"#{slider}")
                rater.press("ArrowRight")

// The latency check (studies/latency.py computes the estimate): tap along with a flashing
// square, then with beeps, at the same steady beat. This page reports when each flash was
// drawn, when each beep left the browser (the audio clock mapped to performance.now() by
// AudioContext.getOutputTimestamp(), which includes the output latency the browser knows of),
// and when each tap came, all in ms on performance.now(); the server does the rest.
(function () {
  "use strict";
  const box = document.getElementById("latency-check");
  if (!box) return;
  const form = document.getElementById("screening");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const flash = document.getElementById("latency-flash");
  const tap = document.getElementById("latency-tap");
  const start = document.getElementById("latency-start");
  const status = document.getElementById("latency-status");
  const PERIOD = 750; // ms between events
  const EVENTS = 8; // per phase
  const FLASH_MS = 90;
  const BEEP_S = 0.04;
  let ctx = null;
  let output = null;
  let phase = null; // "visual" | "audio" | null
  let taps = { visual: [], audio: [] };
  let events = { visual: [], audio: [] };

  function audio() {
    if (!ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      ctx = new Ctx({ latencyHint: "interactive" });
    }
    if (output) output.disconnect();
    output = ctx.createGain();
    // Each run reads the injected delay anew (a test changes it between runs).
    window.foleyLatencyCheck = { ctx: ctx, output: window.foleyAudioClock.connectOutput(ctx, output) };
  }

  function ctxToPerf(t) {
    return window.foleyAudioClock.ctxToPerf(ctx, t);
  }

  function onTap(time) {
    if (phase) taps[phase].push(time);
    tap.classList.add("pressed");
    window.setTimeout(() => tap.classList.remove("pressed"), 80);
  }

  function flashes(done) {
    phase = "visual";
    status.textContent = "tap along with the square…";
    const t0 = performance.now() + 600;
    let k = 0;
    function frame(now) {
      if (k < EVENTS && now >= t0 + k * PERIOD) {
        flash.classList.add("on");
        events.visual.push(now); // the frame it is drawn in
        k += 1;
      } else if (flash.classList.contains("on") && now >= events.visual[k - 1] + FLASH_MS) {
        flash.classList.remove("on");
      }
      if (k < EVENTS || flash.classList.contains("on")) window.requestAnimationFrame(frame);
      else window.setTimeout(done, PERIOD);
    }
    window.requestAnimationFrame(frame);
  }

  function beeps(done) {
    phase = "audio";
    status.textContent = "now tap along with the beeps…";
    const t0 = ctx.currentTime + 0.8;
    for (let k = 0; k < EVENTS; k++) {
      const when = t0 + (k * PERIOD) / 1000;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 1000;
      gain.gain.setValueAtTime(0, when);
      gain.gain.linearRampToValueAtTime(0.5, when + 0.003);
      gain.gain.setValueAtTime(0.5, when + BEEP_S - 0.005);
      gain.gain.linearRampToValueAtTime(0, when + BEEP_S);
      osc.connect(gain).connect(output);
      osc.start(when);
      osc.stop(when + BEEP_S + 0.01);
    }
    // Map each beep to the page's clock once the audio clock runs (the mapping is then stable).
    window.setTimeout(() => {
      for (let k = 0; k < EVENTS; k++) events.audio.push(ctxToPerf(t0 + (k * PERIOD) / 1000));
    }, 300);
    window.setTimeout(done, 800 + EVENTS * PERIOD + PERIOD);
  }

  function report() {
    phase = null;
    tap.disabled = true;
    status.textContent = "checking…";
    const body = new URLSearchParams();
    body.set("flashes", events.visual.map((v) => v.toFixed(1)).join(","));
    body.set("visual_taps", taps.visual.map((v) => v.toFixed(1)).join(","));
    body.set("beeps", events.audio.map((v) => v.toFixed(1)).join(","));
    body.set("audio_taps", taps.audio.map((v) => v.toFixed(1)).join(","));
    fetch(box.dataset.url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    }).then((r) => r.json().then((data) => ({ ok: r.ok, data: data }))).then(({ ok, data }) => {
      start.disabled = false;
      if (!ok) { status.textContent = (data.error || "not recorded") + "."; start.textContent = "Do it again"; return; }
      box.dataset.delayMs = String(data.delay_ms);
      if (data.too_late) {
        status.textContent = "Your sound arrives late (about " + data.delay_ms + " ms). If you use " +
          "Bluetooth headphones, please switch to wired ones and do the check again.";
        start.textContent = "Do it again";
      } else {
        status.textContent = "done ✓";
        start.hidden = true;
      }
    }).catch(() => { start.disabled = false; status.textContent = "connection problem: please do it again"; });
  }

  start.addEventListener("click", () => {
    audio();
    ctx.resume();
    start.disabled = true;
    tap.disabled = false;
    taps = { visual: [], audio: [] };
    events = { visual: [], audio: [] };
    tap.focus();
    flashes(() => beeps(report));
  });
  tap.addEventListener("pointerdown", (e) => { e.preventDefault(); onTap(e.timeStamp); });
  document.addEventListener("keydown", (e) => {
    if (!phase || e.key !== " ") return;
    e.preventDefault();
    if (!e.repeat) onTap(e.timeStamp);
  });
})();

// Switching player: one muted video plays the item's picture; every version's soundtrack is
// fetched (the same opaque URLs, and bytes, as the separate player's videos) and decoded into
// Web Audio buffers before Play is enabled. The rater switches versions with the buttons or
// keys 1-N while the picture keeps playing; the new soundtrack starts at the current playhead
// with a short equal-gain crossfade. The server decides what was heard, from the events this
// page sends (play, switch, tick, seek, pause, stall, ended, each with Date.now() and the
// picture's media time; studies/listening.py).
//
// Sync: a sample the audio clock plays at context time T reaches the ears at
// ctxToPerf(T) + delay, where ctxToPerf comes from AudioContext.getOutputTimestamp() (which
// includes the output latency the browser knows of) and `delay` is the rater's own measured
// audio delay (the latency check; 0 without one). A soundtrack is started so that what is
// heard at that moment is the picture's frame shown then (requestVideoFrameCallback gives
// each frame's media time and display time). After every start and switch the page measures
// the offset it achieved on the next frames, and re-starts the soundtrack in place (same
// crossfade) if it drifts by more than RESYNC_MS.
(function () {
  "use strict";
  const root = document.getElementById("switch-player");
  const answers = window.foleyAnswers;
  if (!root || !answers) return;
  const eventUrl = root.dataset.eventUrl;
  const fraction = parseFloat(root.dataset.heardFraction || "1");
  const delay = Math.max(0, Math.min(500, parseFloat(root.dataset.compensationMs || "0"))) / 1000;
  const video = root.querySelector("video");
  const playButton = root.querySelector("#play-pause");
  const scrub = root.querySelector("#scrub");
  const clock = root.querySelector("#clock");
  const status = root.querySelector("#player-status");
  const loopStart = root.querySelector("#loop-start");
  const loopEnd = root.querySelector("#loop-end");
  const loopClear = root.querySelector("#loop-clear");
  const fullscreen = root.querySelector("#fullscreen");
  const buttons = Array.from(root.querySelectorAll("button.version"));
  const skipBox = document.getElementById("skip");
  const n = buttons.length;
  const XFADE = 0.012; // s: crossfade between soundtracks (no click, no gap)
  const LEAD = 0.012; // s: how far ahead a start is scheduled on the audio clock
  const RESYNC_MS = 15;
  const RETRIES = 2;
  const send = window.foleyEvents(answers.csrf);
  const Ctx = window.AudioContext || window.webkitAudioContext;
  const ctx = new Ctx({ latencyHint: "interactive" });
  const audioClock = window.foleyAudioClock;
  const master = ctx.createGain();
  audioClock.connectOutput(ctx, master);
  const buffers = new Array(n).fill(null);
  const durations = buttons.map((b) => parseFloat(b.dataset.duration));
  const audible = new Array(n).fill(0); // s, the page's own count (for its display)
  const ticked = new Array(n).fill(false);
  const heard = buttons.map((b) => b.classList.contains("played"));
  let active = 0;
  let playing = false; // the rater wants it playing (between Play and Pause/end)
  let voice = null; // the sounding soundtrack: {source, gain, when, offset, index, checks}
  let frame = null; // the latest frame: {mediaTime, displayTime}
  let videoReady = false;
  let loop = { start: null, end: null };
  let last = null; // {perf, media} at the previous animation frame, for the display count
  let stalledAt = null;
  let started = false; // the picture has started since the last Play (a `waiting` is a stall)
  let seeking = false;

  function post(index, kind, mediaTime) {
    const time = mediaTime === undefined ? video.currentTime : mediaTime;
    return send(eventUrl, { slot: buttons[index].dataset.slot, kind: kind }, { currentTime: time });
  }

  const ctxToPerf = (t) => audioClock.ctxToPerf(ctx, t);
  const perfToCtx = (p) => audioClock.perfToCtx(ctx, p);

  function videoAt(perf) {
    // The picture's media time shown at performance time `perf` (rate 1 while playing).
    if (frame && !video.paused) return frame.mediaTime + (perf - frame.displayTime) / 1000;
    return video.currentTime + (video.paused ? 0 : (perf - performance.now()) / 1000);
  }

  function startVoice(index, pressedAt) {
    const buffer = buffers[index];
    const when = ctx.currentTime + LEAD;
    const offset = videoAt(ctxToPerf(when) + delay * 1000);
    if (offset >= buffer.duration) return;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    const gain = ctx.createGain();
    source.connect(gain).connect(master);
    gain.gain.setValueAtTime(0, when);
    gain.gain.linearRampToValueAtTime(1, when + XFADE);
    source.start(when, Math.max(0, offset));
    if (voice) fadeOut(voice, when);
    voice = { source: source, gain: gain, when: when, offset: offset, index: index, offsets: [] };
    if (pressedAt !== null) {
      // The press (the event's own time stamp) to the new soundtrack's first sample on the
      // audio clock; the device's output latency comes on top, as for any sound.
      const firstSample = performance.now() + (when - ctx.currentTime) * 1000;
      answers.sample("switch_gaps_ms", firstSample - pressedAt);
    }
  }

  function fadeOut(v, when) {
    const at = Math.max(when, ctx.currentTime);
    v.gain.gain.cancelScheduledValues(at);
    v.gain.gain.setValueAtTime(v.gain.gain.value, at);
    v.gain.gain.linearRampToValueAtTime(0, at + XFADE);
    try { v.source.stop(at + XFADE + 0.005); } catch (e) { /* already stopped */ }
  }

  function stopVoice() {
    if (voice) fadeOut(voice, ctx.currentTime);
    voice = null;
  }

  function onFrame(now, meta) {
    frame = { mediaTime: meta.mediaTime, displayTime: meta.expectedDisplayTime };
    if (voice && playing && !seeking) {
      const heardCtx = perfToCtx(frame.displayTime - delay * 1000);
      if (heardCtx > voice.when + XFADE) {
        const audioPos = voice.offset + (heardCtx - voice.when);
        // One frame's time stamps jitter by a display refresh: the offset of a start is the
        // median over its first three frames once the crossfade is over.
        voice.offsets.push((audioPos - frame.mediaTime) * 1000);
        if (voice.offsets.length === 3) {
          const sorted = voice.offsets.slice().sort((a, b) => a - b);
          const offsetMs = sorted[1];
          answers.sample("sync_offsets_ms", offsetMs);
          if (Math.abs(offsetMs) > RESYNC_MS) {
            answers.count("resyncs");
            startVoice(voice.index, null);
          }
        } else if (voice.offsets.length > 5 && voice.offsets.length % 25 === 0) {
          // Drift: the median of the last five frames, checked about once a second.
          const recent = voice.offsets.slice(-5).sort((a, b) => a - b)[2];
          if (Math.abs(recent) > RESYNC_MS) { answers.count("resyncs"); startVoice(voice.index, null); }
        }
      }
    }
    video.requestVideoFrameCallback(onFrame);
  }

  function whenFrame(fn, frames) {
    // After `frames` new frames of the picture (their time stamps say where it is).
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback((now, meta) => {
        frame = { mediaTime: meta.mediaTime, displayTime: meta.expectedDisplayTime };
        if ((frames || 1) > 1) whenFrame(fn, frames - 1);
        else fn();
      });
    } else {
      window.setTimeout(fn, 0);
    }
  }

  function setStatus(text) { status.textContent = text; }

  function render() {
    buttons.forEach((b, i) => {
      b.setAttribute("aria-pressed", i === active ? "true" : "false");
      b.classList.toggle("active", i === active);
      b.classList.toggle("played", heard[i]);
      const meter = b.querySelector("progress");
      meter.value = heard[i] ? meter.max : Math.min(meter.max, audible[i]);
      b.querySelector(".state").textContent = heard[i] ? "heard ✓" :
        (buffers[i] ? Math.round(100 * Math.min(1, audible[i] / (fraction * durations[i]))) + "%" :
          "loading…");
    });
    playButton.textContent = playing ? "Pause" : "Play";
    playButton.setAttribute("aria-pressed", playing ? "true" : "false");
  }

  function applyState(data) {
    if (!data || !data.played) return;
    data.played.forEach((p, i) => { if (p) heard[i] = true; });
    answers.setUnlocked(heard.every(Boolean));
    if (heard.every(Boolean)) setStatus("every version heard ✓: answer below (you can keep listening)");
    render();
  }

  function ready() {
    if (!videoReady || buffers.some((b) => b === null)) return;
    playButton.disabled = false;
    buttons.forEach((b) => { b.disabled = false; });
    setStatus("ready: press Play, then switch versions with 1–" + n);
    answers.set("output_latency_ms", ((ctx.outputLatency || 0) + (ctx.baseLatency || 0)) * 1000);
    answers.set("compensation_ms", delay * 1000);
    render();
  }

  function play() {
    if (playButton.disabled || playing) return;
    ctx.resume();
    if (video.ended || video.currentTime >= video.duration - 0.05) video.currentTime = 0;
    playing = true;
    started = false;
    video.playbackRate = 1;
    const promise = video.play();
    if (promise && promise.catch) promise.catch(() => { playing = false; setStatus("press Play again"); render(); });
    render();
  }

  function pause() {
    if (!playing) return;
    playing = false;
    post(active, "pause");
    stopVoice();
    video.pause();
    render();
  }

  function select(index, pressedAt) {
    if (index === active || buttons[index].disabled) return;
    active = index;
    if (playing && !video.paused && !seeking && stalledAt === null) {
      post(index, "switch").then(({ data }) => applyState(data)).catch(() => undefined);
      if (voice) startVoice(index, pressedAt);
    }
    render();
  }

  function seekTo(t) {
    t = Math.max(0, Math.min(video.duration || t, t));
    if (playing && !video.paused) {
      post(active, "seek");
      stopVoice();
      seeking = true;
    }
    video.currentTime = t;
  }

  video.addEventListener("playing", () => {
    if (stalledAt !== null) { answers.count("stall_ms", performance.now() - stalledAt); stalledAt = null; }
    if (!playing) return;
    started = true;
    // The picture's first frame after a start carries its start-up, not its clock: two frames.
    whenFrame(() => {
      if (!playing || seeking) return;
      post(active, "play").then(({ data }) => applyState(data)).catch(() => undefined);
      startVoice(active, null);
    }, 2);
  });
  video.addEventListener("seeked", () => {
    if (!seeking) return;
    seeking = false;
    if (playing && !video.paused) {
      whenFrame(() => {
        if (!playing) return;
        post(active, "play").then(({ data }) => applyState(data)).catch(() => undefined);
        startVoice(active, null);
      }, 2);
    }
  });
  video.addEventListener("waiting", () => {
    if (!playing || !started || seeking || stalledAt !== null) return;
    stalledAt = performance.now();
    post(active, "stall");
    stopVoice();
    setStatus("buffering…");
  });
  video.addEventListener("ended", () => {
    if (!playing) return;
    playing = false;
    post(active, "ended").then(({ data }) => applyState(data)).catch(() => undefined);
    stopVoice();
    render();
  });
  video.addEventListener("ratechange", () => {
    if (video.playbackRate !== 1) { answers.count("rate_changes"); video.playbackRate = 1; }
  });
  video.addEventListener("volumechange", () => {
    if (!video.muted) { answers.count("volume_changes"); video.muted = true; }
  });
  video.addEventListener("canplaythrough", () => { videoReady = true; ready(); });
  if (video.readyState >= 4) videoReady = true;
  let videoFailures = 0;
  video.addEventListener("error", () => {
    videoFailures += 1;
    post(0, "error", 0).catch(() => undefined);
    if (videoFailures <= RETRIES) {
      setStatus("could not load the video: trying again…");
      const src = video.getAttribute("src").split("?")[0];
      window.setTimeout(() => video.setAttribute("src", src + "?retry=" + videoFailures), 1000 * videoFailures);
    } else {
      setStatus("the video could not be loaded");
      skipBox.hidden = false;
    }
  });

  function load(index, attempt) {
    const src = buttons[index].dataset.src + (attempt ? "?retry=" + attempt : "");
    fetch(src, { credentials: "same-origin" })
      .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.arrayBuffer(); })
      .then((bytes) => ctx.decodeAudioData(bytes))
      .then((buffer) => { buffers[index] = buffer; render(); ready(); })
      .catch(() => {
        post(index, "error", 0).catch(() => undefined);
        if (attempt < RETRIES) {
          setStatus("could not load a version: trying again…");
          window.setTimeout(() => load(index, attempt + 1), 1000 * (attempt + 1));
        } else {
          setStatus("a version could not be loaded");
          skipBox.hidden = false;
        }
      });
  }
  buttons.forEach((b, i) => load(i, 0));

  // Loop region, scrub bar and the display count, once per animation frame.
  function tick(now) {
    const t = video.currentTime;
    if (!scrub.matches(":active")) scrub.value = String(t);
    clock.textContent = t.toFixed(1) + " / " + (video.duration || durations[0]).toFixed(1) + " s";
    if (playing && !video.paused && !seeking && stalledAt === null && voice) {
      if (last) {
        audible[active] += Math.max(0, Math.min((now - last.perf) / 1000, t - last.media));
        if (!heard[active] && !ticked[active] && audible[active] >= fraction * durations[active] + 0.2) {
          ticked[active] = true;
          post(active, "tick").then(({ data }) => applyState(data)).catch(() => undefined);
        }
      }
      const end = loop.end !== null ? loop.end : (loop.start !== null ? video.duration - 0.1 : null);
      if (end !== null && t >= end) seekTo(loop.start || 0);
      last = { perf: now, media: t };
      render();
    } else {
      last = null;
    }
    window.requestAnimationFrame(tick);
  }
  window.requestAnimationFrame(tick);
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);

  playButton.addEventListener("click", () => (playing ? pause() : play()));
  buttons.forEach((b, i) => b.addEventListener("click", (e) => select(i, e.timeStamp)));
  scrub.addEventListener("change", () => seekTo(parseFloat(scrub.value)));
  loopStart.addEventListener("click", () => { loop.start = video.currentTime; loopClear.disabled = false; });
  loopEnd.addEventListener("click", () => {
    if (video.currentTime > (loop.start || 0) + 0.5) { loop.end = video.currentTime; loopClear.disabled = false; }
  });
  loopClear.addEventListener("click", () => { loop = { start: null, end: null }; loopClear.disabled = true; });
  if (fullscreen) {
    fullscreen.addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (root.requestFullscreen) root.requestFullscreen();
    });
  }
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && e.target.tagName === "INPUT" && e.target.type !== "radio" && e.target.type !== "checkbox") return;
    const k = parseInt(e.key, 10);
    if (k >= 1 && k <= n) { select(k - 1, e.timeStamp); e.preventDefault(); }
    // Space plays and pauses, except on a control, where it is the control's own key (a
    // keyboard rater checks a radio or presses a button with it).
    else if (e.key === " " && !(e.target && /^(BUTTON|INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName))) {
      (playing ? pause : play)(); e.preventDefault();
    }
  });
  window.foleySwitchPlayer = { ctx: ctx, output: master, state: () => ({ active: active, playing: playing, audible: audible.slice(), heard: heard.slice() }) };
  answers.setUnlocked(heard.every(Boolean));
  render();
})();

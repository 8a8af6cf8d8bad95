// Separate player: one video per version, one playing at a time; the questions unlock when the
// server has accepted every version as heard (studies/listening.py). Nothing here knows what a
// version is.
//
// Each event goes to the server in order, with this page's clock (Date.now()) and the media
// time, so the server can judge a play-through without relying on when requests reach it.
// A version can be played once it has loaded enough to play through; a version that fails to
// load is retried, and after repeated failure the rater may skip the trial.
(function () {
  "use strict";
  const root = document.getElementById("trial");
  const answers = window.foleyAnswers;
  if (!root || !answers) return;
  const eventUrl = root.dataset.eventUrl;
  const sections = Array.from(root.querySelectorAll(".slot"));
  const skipBox = document.getElementById("skip");
  const RETRIES = 2;
  const send = window.foleyEvents(answers.csrf);

  function post(slot, kind, video) {
    return send(eventUrl, { slot: slot, kind: kind }, video);
  }

  function setStatus(section, text) {
    section.querySelector(".status").textContent = text;
  }

  function heard(section) {
    return section.classList.contains("played");
  }

  function applyState(played) {
    played.forEach((isPlayed, i) => {
      if (isPlayed && sections[i]) {
        sections[i].classList.add("played");
        setStatus(sections[i], "heard ✓");
      }
    });
    answers.setUnlocked(played.every(Boolean));
  }

  function play(section) {
    const button = section.querySelector("button.play");
    if (button.disabled) return;
    sections.forEach((other) => {
      if (other !== section) {
        const v = other.querySelector("video");
        if (!v.paused) v.pause();
        other.classList.remove("playing");
      }
    });
    const video = section.querySelector("video");
    video.playbackRate = 1;
    // The page's own rewind, only where there is something to rewind (a fresh video is at 0):
    // WebKit and Firefox fire its `seeking` (Firefox a `waiting` too) after `playing`, and
    // play() after `ended` rewinds by itself, so it is marked here and never reported as the
    // rater's seek or a stall.
    if (video.currentTime > 0 || video.ended) {
      section.dataset.rewinding = "1";
      video.currentTime = 0;
    }
    const started = video.play();
    if (started && started.catch) {
      started.catch(() => setStatus(section, "could not start: press play again"));
    }
  }

  sections.forEach((section) => {
    const slot = section.dataset.slot;
    const video = section.querySelector("video");
    const button = section.querySelector("button.play");
    let failures = 0;
    let playing = false; // between `playing` and `ended`/`pause` of one play-through
    let stalledAt = null;
    let wasMuted = video.muted || video.volume === 0;

    function ready() {
      button.disabled = false;
      if (!heard(section) && !playing) setStatus(section, "ready: press play");
    }
    if (video.readyState >= 4) ready();
    video.addEventListener("canplaythrough", ready);
    button.addEventListener("click", () => play(section));
    video.addEventListener("play", () => {
      section.classList.add("playing");
      setStatus(section, "playing…");
      post(slot, "play", video);
    });
    video.addEventListener("playing", () => {
      if (stalledAt !== null) {
        answers.count("stall_ms", performance.now() - stalledAt);
        stalledAt = null;
      }
      playing = true;
      setStatus(section, "playing…");
    });
    video.addEventListener("waiting", () => {
      // Start-up before the first frame, or the page's own rewind loading: not a stall.
      if (!playing || section.dataset.rewinding === "1") return;
      stalledAt = performance.now();
      setStatus(section, "buffering…");
      post(slot, "stall", video);
    });
    video.addEventListener("seeking", () => {
      // The rewind play() asked for lands at 0; any other seek is the rater's (the browser's
      // own controls, e.g. its context menu) and is reported. The server, too, takes a seek to
      // the start as a new start, never as a skip (studies/listening.py, is_rewind).
      if (section.dataset.rewinding === "1" && video.currentTime <= 0.05) return;
      if (playing) post(slot, "seek", video);
    });
    video.addEventListener("seeked", () => {
      if (video.currentTime <= 0.05) delete section.dataset.rewinding;
    });
    video.addEventListener("timeupdate", () => {
      if (video.currentTime > 0.25) delete section.dataset.rewinding;
    });
    video.addEventListener("pause", () => {
      if (video.ended) return; // browsers fire `pause` right before `ended`
      playing = false;
      section.classList.remove("playing");
      if (!heard(section)) setStatus(section, "paused: play it again from the start");
      post(slot, "pause", video);
    });
    video.addEventListener("volumechange", () => {
      const muted = video.muted || video.volume === 0;
      answers.count("volume_changes");
      if (muted !== wasMuted) post(slot, muted ? "mute" : "unmute", video);
      wasMuted = muted;
    });
    video.addEventListener("ratechange", () => {
      if (video.playbackRate !== 1) { answers.count("rate_changes"); video.playbackRate = 1; }
    });
    video.addEventListener("ended", () => {
      playing = false;
      section.classList.remove("playing");
      if (!heard(section)) setStatus(section, "checking…");
      post(slot, "ended", video).then(({ ok, data }) => {
        if (!ok) { setStatus(section, data.error || "not recorded; please play again"); return; }
        applyState(data.played);
        if (!heard(section)) {
          setStatus(section, "not heard to the end" + (data.reason ? " (" + data.reason + ")" : "") +
            ": please play it again");
        }
      }).catch(() => setStatus(section, "connection problem: please play it again"));
    });
    let lastFailed = null;
    function failed() {
      // One failure per source: Chromium can report one failed load twice (the error event
      // and video.error seen again), which must not use up a retry.
      const source = video.getAttribute("src");
      if (source === lastFailed) return;
      lastFailed = source;
      failures += 1;
      button.disabled = true;
      post(slot, "error", video).catch(() => undefined);
      if (failures <= RETRIES) {
        setStatus(section, "could not load: trying again (" + failures + " of " + RETRIES + ")…");
        const src = video.getAttribute("src").split("?")[0];
        window.setTimeout(() => {
          video.setAttribute("src", src + "?retry=" + failures); // setting src loads it
        }, 1000 * failures);
      } else {
        setStatus(section, "this video could not be loaded");
        skipBox.hidden = false;
      }
    }
    video.addEventListener("error", failed);
    if (video.error) failed(); // it failed before this script ran
  });

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && e.target.tagName === "INPUT" && e.target.type === "text") return;
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= sections.length) { play(sections[n - 1]); e.preventDefault(); }
  });
  answers.setUnlocked(sections.every((s) => s.classList.contains("played")));
})();

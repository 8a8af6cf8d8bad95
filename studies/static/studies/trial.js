// Trial page: one version plays at a time; the questions unlock when the server has accepted
// every version as heard (studies/listening.py). Nothing here knows what a version is.
//
// Each event goes to the server in order, with this page's clock (Date.now()) and the media
// time, so the server can judge a play-through without relying on when requests reach it.
// A version can be played once it has loaded enough to play through; a version that fails to
// load is retried, and after repeated failure the rater may skip the trial.
(function () {
  "use strict";
  const root = document.getElementById("trial");
  const form = document.getElementById("answers");
  if (!root || !form) return;
  const eventUrl = root.dataset.eventUrl;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const sections = Array.from(root.querySelectorAll(".slot"));
  const fieldsets = Array.from(form.querySelectorAll("fieldset.criterion"));
  // One answer per group: a set of radio buttons, or a slider the rater has moved (its
  // starting value is no answer; the design's template marks sliders with data-slider).
  const groups = Array.from(form.querySelectorAll(".answer-group"));
  const submit = document.getElementById("submit");
  const lockNote = document.getElementById("lock-note");
  const skipBox = document.getElementById("skip");
  const RETRIES = 2;
  let unlocked = sections.every((s) => s.classList.contains("played"));
  const send = window.foleyEvents(csrf);

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
    unlocked = played.every(Boolean);
    refresh();
  }

  function refresh() {
    fieldsets.forEach((f) => { f.disabled = !unlocked; });
    lockNote.hidden = unlocked;
    const answered = groups.every((g) =>
      ("slider" in g.dataset) ? g.dataset.moved === "yes" : g.querySelector("input:checked"));
    submit.disabled = !(unlocked && answered);
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
    video.currentTime = 0;
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
      playing = true;
      setStatus(section, "playing…");
    });
    video.addEventListener("waiting", () => {
      if (!playing) return; // start-up, before the first frame: not a stall
      setStatus(section, "buffering…");
      post(slot, "stall", video);
    });
    video.addEventListener("pause", () => {
      if (video.ended) return; // browsers fire `pause` right before `ended`
      playing = false;
      section.classList.remove("playing");
      if (!heard(section)) setStatus(section, "paused: play it again from the start");
      post(slot, "pause", video);
    });
    video.addEventListener("ratechange", () => { video.playbackRate = 1; });
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

  form.addEventListener("change", refresh);
  form.addEventListener("input", (e) => {
    const group = e.target.closest("[data-slider]");
    if (!group) return;
    group.dataset.moved = "yes";
    group.querySelector("output").textContent = e.target.value;
    refresh();
  });
  form.addEventListener("submit", (e) => {
    if (submit.disabled) { e.preventDefault(); return; }
    submit.disabled = true; // one submit; the server ignores repeats anyway
  });
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && e.target.tagName === "INPUT" && e.target.type === "text") return;
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= sections.length) { play(sections[n - 1]); e.preventDefault(); }
  });
  refresh();
})();

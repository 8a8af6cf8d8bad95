// Trial page: one version plays at a time; the questions unlock when the server has recorded
// every version as played to the end. Nothing here knows what a version is.
(function () {
  "use strict";
  const root = document.getElementById("trial");
  const form = document.getElementById("answers");
  if (!root || !form) return;
  const eventUrl = root.dataset.eventUrl;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const sections = Array.from(root.querySelectorAll(".slot"));
  const fieldsets = Array.from(form.querySelectorAll("fieldset.criterion"));
  const submit = document.getElementById("submit");
  const lockNote = document.getElementById("lock-note");
  let unlocked = sections.every((s) => s.classList.contains("played"));

  function post(slot, kind) {
    const body = new URLSearchParams({ slot: slot, kind: kind });
    return fetch(eventUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    }).then((r) => r.json().then((data) => ({ ok: r.ok, data: data })));
  }

  function setStatus(section, text) {
    section.querySelector(".status").textContent = text;
  }

  function applyState(played) {
    played.forEach((isPlayed, i) => {
      if (isPlayed && sections[i]) {
        sections[i].classList.add("played");
        setStatus(sections[i], "played");
      }
    });
    unlocked = played.every(Boolean);
    refresh();
  }

  function refresh() {
    fieldsets.forEach((f) => { f.disabled = !unlocked; });
    lockNote.hidden = unlocked;
    const answered = fieldsets.every((f) => f.querySelector("input:checked"));
    submit.disabled = !(unlocked && answered);
  }

  function play(section) {
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
    section.classList.add("playing");
    setStatus(section, "playing…");
    const started = video.play();
    if (started && started.catch) {
      started.catch(() => setStatus(section, "could not start: press play again"));
    }
  }

  sections.forEach((section) => {
    const slot = section.dataset.slot;
    const video = section.querySelector("video");
    section.querySelector("button.play").addEventListener("click", () => play(section));
    video.addEventListener("play", () => post(slot, "play"));
    video.addEventListener("ratechange", () => { video.playbackRate = 1; });
    video.addEventListener("ended", () => {
      section.classList.remove("playing");
      post(slot, "ended").then(({ ok, data }) => {
        if (!ok) { setStatus(section, data.error || "not recorded; please play again"); return; }
        applyState(data.played);
        if (!section.classList.contains("played")) {
          setStatus(section, "not played to the end: please play it again");
        }
      }).catch(() => setStatus(section, "connection problem: please play it again"));
    });
    video.addEventListener("error", () => {
      setStatus(section, "this video could not be loaded");
      post(slot, "error");
    });
  });

  form.addEventListener("change", refresh);
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

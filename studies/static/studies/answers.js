// The answer form of a trial page, shared by both players: the questions unlock when the server
// has accepted every version as heard; one answer per group (a set of radio buttons, or a slider
// the rater has moved: its starting value is no answer). With the answer goes the page's
// playback telemetry (studies/telemetry.py): time the tab was hidden, full-screen exits,
// playback-rate and volume tampering, stall time, and what the player measured.
window.foleyAnswers = (function () {
  "use strict";
  const form = document.getElementById("answers");
  if (!form) return null;
  const groups = Array.from(form.querySelectorAll(".answer-group"));
  const fieldsets = Array.from(form.querySelectorAll("fieldset.criterion"));
  const submit = document.getElementById("submit");
  const lockNote = document.getElementById("lock-note");
  const report = {
    hidden_ms: 0, hidden_count: 0, fullscreen_exits: 0, rate_changes: 0, volume_changes: 0,
    stall_ms: 0,
  };
  const samples = { sync_offsets_ms: [], switch_gaps_ms: [] };
  const MAX_SAMPLES = 200;
  let unlocked = false;
  let hiddenSince = document.hidden ? performance.now() : null;

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      hiddenSince = performance.now();
      report.hidden_count += 1;
    } else if (hiddenSince !== null) {
      report.hidden_ms += performance.now() - hiddenSince;
      hiddenSince = null;
    }
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) report.fullscreen_exits += 1;
  });

  function refresh() {
    fieldsets.forEach((f) => { f.disabled = !unlocked; });
    lockNote.hidden = unlocked;
    const answered = groups.every((g) =>
      ("slider" in g.dataset) ? g.dataset.moved === "yes" : g.querySelector("input:checked"));
    submit.disabled = !(unlocked && answered);
  }

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
    if (hiddenSince !== null) report.hidden_ms += performance.now() - hiddenSince;
    const out = Object.assign({}, report, samples);
    out.hidden_ms = Math.round(out.hidden_ms);
    out.stall_ms = Math.round(out.stall_ms);
    form.querySelector("input[name=_telemetry]").value = JSON.stringify(out);
    submit.disabled = true; // one submit; the server ignores repeats anyway
  });
  refresh();
  return {
    csrf: form.querySelector("input[name=csrfmiddlewaretoken]").value,
    setUnlocked(value) { unlocked = value; refresh(); },
    count(name, by) { report[name] = (report[name] || 0) + (by === undefined ? 1 : by); },
    set(name, value) { report[name] = value; },
    sample(name, value) {
      if (samples[name].length < MAX_SAMPLES) samples[name].push(Math.round(value * 10) / 10);
    },
    samples: samples,
  };
})();

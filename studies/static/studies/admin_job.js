// A background job's admin page: while the job is queued or running, ask for its status every
// few seconds and show it; reload once when it ends, so every field shows its final value.
(function () {
  "use strict";
  const panel = document.getElementById("job-status");
  if (!panel || panel.dataset.active !== "1") return;
  const every = Number(panel.dataset.pollMs) || 2000;
  async function poll() {
    try {
      const response = await fetch(panel.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.ok) {
        const data = await response.json();
        panel.innerHTML = data.html;
        if (!data.active) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The server is busy or restarting: try again at the next tick.
    }
    window.setTimeout(poll, every);
  }
  window.setTimeout(poll, every);
})();

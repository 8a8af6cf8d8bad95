// Screening pages. The screen check reports the screen size (no sound on that page). The sound
// checks play one sound at a time and tell the server when each starts, pauses and ends; the
// server decides which sounds were heard and scores the answers. This page never knows them.
(function () {
  "use strict";
  const device = document.getElementById("device-check");
  if (device) {
    device.elements.width.value = String(Math.round(window.screen.width || window.innerWidth || 0));
    device.elements.height.value = String(Math.round(window.screen.height || window.innerHeight || 0));
    // Continue only once the size is filled in: a click before this script ran would send
    // 0x0 and screen the participant out for a small screen.
    device.querySelector("button[type=submit]").disabled = false;
    return;
  }
  const form = document.getElementById("screening");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const players = Array.from(form.querySelectorAll("audio"));
  const send = window.foleyEvents(csrf);

  function post(url, kind, audio) {
    return send(url, { kind: kind }, audio);
  }

  form.querySelectorAll("fieldset.screen-item").forEach(function (item) {
    const audio = item.querySelector("audio");
    const button = item.querySelector(".play-sound");
    const status = item.querySelector(".status");
    const url = item.dataset.eventUrl;
    let heard = status.textContent.indexOf("✓") >= 0;
    function ready() {
      button.disabled = false;
      if (!heard) status.textContent = "ready";
    }
    if (audio.readyState >= 4) ready();
    audio.addEventListener("canplaythrough", ready);
    audio.addEventListener("error", function () { status.textContent = "could not load"; });
    audio.addEventListener("play", function () {
      status.textContent = "playing…";
      post(url, "play", audio);
    });
    audio.addEventListener("pause", function () {
      if (audio.ended) return;
      if (!heard) status.textContent = "paused: play it again";
      post(url, "pause", audio);
    });
    audio.addEventListener("ended", function () {
      post(url, "ended", audio).then(function (result) {
        heard = heard || Boolean(result.ok && result.data.heard);
        status.textContent = heard ? "heard ✓" : "not played through: play it again";
      });
    });
    button.addEventListener("click", function () {
      players.forEach(function (other) {
        if (other !== audio && !other.paused) other.pause();
      });
      audio.currentTime = 0;
      const started = audio.play();
      if (started && started.then) {
        started.then(function () {
          document.getElementById("playback-note").hidden = true;
        }).catch(function () {
          document.getElementById("playback-note").hidden = false;
        });
      }
    });
  });
})();

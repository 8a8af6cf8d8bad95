// Sound checks: report the screen size and whether the browser plays sound; play one sound at a
// time. Scoring happens on the server; this page never knows the answers.
(function () {
  "use strict";
  const form = document.getElementById("screening");
  if (!form) return;
  form.elements.width.value = String(Math.round(window.screen.width || window.innerWidth || 0));
  form.elements.height.value = String(Math.round(window.screen.height || window.innerHeight || 0));
  const players = Array.from(form.querySelectorAll("audio"));
  form.querySelectorAll(".play-sound").forEach(function (button) {
    const audio = button.parentElement.querySelector("audio");
    button.addEventListener("click", function () {
      players.forEach(function (other) {
        if (other !== audio) { other.pause(); other.currentTime = 0; }
      });
      audio.currentTime = 0;
      const started = audio.play();
      if (started && started.then) {
        started.then(function () {
          form.elements.playback.value = "ok";
          document.getElementById("playback-note").hidden = true;
        }).catch(function () {
          if (form.elements.playback.value !== "ok") form.elements.playback.value = "failed";
          document.getElementById("playback-note").hidden = false;
        });
      }
    });
  });
})();

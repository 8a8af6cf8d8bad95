// Shared by the trial and screening pages: playback events sent to the server one after
// another (so it sees them in the order they happened), each with the moment it happened on
// this page's clock and the media time. Resolves to {ok, data} with the server's JSON.
window.foleyEvents = function (csrf) {
  "use strict";
  let queue = Promise.resolve();
  return function post(url, fields, media) {
    const body = new URLSearchParams(fields);
    body.set("client_ms", String(Date.now()));
    body.set("media_time", String(Number.isFinite(media.currentTime) ? media.currentTime : 0));
    const sent = queue.then(() =>
      fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        body: body,
        credentials: "same-origin",
      }).then((r) => r.json().then((data) => ({ ok: r.ok, data: data })))
    );
    queue = sent.catch(() => undefined);
    return sent;
  };
};

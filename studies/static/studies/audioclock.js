// Shared by the switching player and the latency check: the audio clock mapped to this page's
// clock (performance.now(), ms) through AudioContext.getOutputTimestamp(), which includes the
// output latency the browser knows of (outputLatency + baseLatency where it has no timestamp),
// and the way out to the speakers, where a test can inject an audio delay (a Bluetooth
// headset, in effect) by setting window.foleyInjectAudioDelayMs before the audio starts.
window.foleyAudioClock = (function () {
  "use strict";
  // A timestamp is trusted only if it is consistent with the two clocks read now: it is a
  // recent past moment on both (the audio clock ahead of what is heard by the output latency).
  // WebKitGTK 2.50 answers performanceTime on another base (ahead of performance.now() by the
  // context's own time), which would put every mapped sound seconds off; Chromium and Firefox
  // answer consistent stamps. Where the stamp fails the check, the fallback is the context's
  // clock now, less the latency the browser reports.
  const TRUST_MS = 250;
  function stamp(ctx) {
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    const now = performance.now();
    if (ts && ts.performanceTime > 0) {
      const perfAgo = now - ts.performanceTime;
      const ctxAgo = (ctx.currentTime - ts.contextTime) * 1000;
      if (perfAgo > -20 && perfAgo < 1000 && Math.abs(perfAgo - ctxAgo) < TRUST_MS) return ts;
    }
    return { contextTime: ctx.currentTime - latency(ctx, now), performanceTime: now };
  }
  // The output latency the browser reports, read at most once a second: Firefox answers
  // outputLatency by asking its audio thread and waiting, which must not happen every frame.
  const latencies = new WeakMap();
  function latency(ctx, now) {
    const known = latencies.get(ctx);
    if (known && now - known.at < 1000) return known.value;
    const value = (ctx.outputLatency || 0) + (ctx.baseLatency || 0);
    latencies.set(ctx, { value: value, at: now });
    return value;
  }
  return {
    ctxToPerf(ctx, t) {
      const ts = stamp(ctx);
      return ts.performanceTime + (t - ts.contextTime) * 1000;
    },
    perfToCtx(ctx, p) {
      const ts = stamp(ctx);
      return ts.contextTime + (p - ts.performanceTime) / 1000;
    },
    // Connects `node` to the speakers; returns the last node before them.
    connectOutput(ctx, node) {
      if (!window.foleyInjectAudioDelayMs) {
        node.connect(ctx.destination);
        return node;
      }
      const injected = ctx.createDelay(2);
      injected.delayTime.value = window.foleyInjectAudioDelayMs / 1000;
      node.connect(injected).connect(ctx.destination);
      return injected;
    },
  };
})();

// Shared by the switching player and the latency check: the audio clock mapped to this page's
// clock (performance.now(), ms) through AudioContext.getOutputTimestamp(), which includes the
// output latency the browser knows of (outputLatency + baseLatency where it has no timestamp),
// and the way out to the speakers, where a test can inject an audio delay (a Bluetooth
// headset, in effect) by setting window.foleyInjectAudioDelayMs before the audio starts.
window.foleyAudioClock = (function () {
  "use strict";
  function stamp(ctx) {
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0) return ts;
    const latency = (ctx.outputLatency || 0) + (ctx.baseLatency || 0);
    return { contextTime: ctx.currentTime - latency, performanceTime: performance.now() };
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

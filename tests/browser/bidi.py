"""A small WebDriver BiDi client: Debian's Firefox ESR speaks BiDi itself over a websocket
(`--remote-debugging-port`), so no geckodriver binary is needed (none is packaged by Debian, and
a third party's repackaged binary would be a supply-chain risk).

Only what the tests use: navigate, evaluate a script, trusted pointer and key input, viewport,
screenshot. The commands and their parameters are the W3C WebDriver BiDi specification's
(https://w3c.github.io/webdriver-bidi/): `session.new`, `browsingContext.getTree`,
`browsingContext.navigate`, `browsingContext.setViewport`, `browsingContext.captureScreenshot`,
`script.callFunction`, `input.performActions`, `session.end`.
"""

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

# Firefox preferences for a test profile: no first-run pages or update checks, media may start
# from a script's play() after the rater's click as on a rater's machine (the click that
# performActions sends is a real user activation, so autoplay rules are kept).
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "remote.prefs.recommended": True,
}


class BiDiError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Firefox:
    """One Firefox process with one tab, driven over BiDi."""

    def __init__(self, binary: str = "firefox-esr", *, headless: bool = True, env=None):
        self.profile = Path(tempfile.mkdtemp(prefix="ff-profile-"))
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items())
        )
        port = _free_port()
        args = [binary, "--remote-debugging-port", str(port), "--profile", str(self.profile),
                "--no-remote", "--new-instance"]  # fmt: skip
        if headless:
            args.append("--headless")
        self.log = tempfile.TemporaryFile()
        runtime = self.profile / "run"
        runtime.mkdir(mode=0o700)
        self.proc = subprocess.Popen(
            [*args, "about:blank"], stdout=self.log, stderr=subprocess.STDOUT,
            # Its own runtime folder: nothing a Firefox run before it left behind is shared.
            env={**os.environ, **(env or {}), "XDG_RUNTIME_DIR": str(runtime)},
        )  # fmt: skip
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        self.ws = self._connect(port)
        caps = self.command(
            "session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}}
        )
        self.version = caps["capabilities"].get("browserVersion", "")
        self.context = self.command("browsingContext.getTree", {})["contexts"][0]["context"]

    def _connect(self, port: int, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return connect(f"ws://127.0.0.1:{port}/session", open_timeout=5, max_size=2**26)
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    raise BiDiError(f"Firefox did not open BiDi on :{port}: {exc}; "
                                    f"{self.log.read()[-2000:]!r}") from exc  # fmt: skip
                time.sleep(0.2)

    def command(self, method: str, params: dict, timeout: float = 30.0) -> dict:
        ident = next(self._ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") != ident:
                if message.get("type") == "event":
                    self._events.append(message)
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    # -- what a test does -------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    def call(self, function: str, *args):
        """Run `function` (JS source of a function) in the page with JSON-able args; its
        (awaited) value, deserialised. A DOM node comes back as {"sharedId": ...}."""
        result = self.command(
            "script.callFunction",
            {
                "functionDeclaration": function,
                "arguments": [_serialise(a) for a in args],
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if result.get("type") == "exception":
            details = result["exceptionDetails"]
            raise BiDiError(f"script error: {details.get('text')}")
        return _deserialise(result["result"])

    def click(self, css: str) -> None:
        """A trusted click in the middle of the first element matching `css`."""
        node = self.call(
            "(css) => { const e = document.querySelector(css); if (e) e.scrollIntoView({block: 'center'}); return e; }",
            css,
        )
        if not node:
            raise BiDiError(f"no element matches {css!r}")
        origin = {"type": "element", "element": {"sharedId": node["sharedId"]}}
        self.command("input.performActions", {"context": self.context, "actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                        {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}],
        }]})  # fmt: skip
        self.command("input.releaseActions", {"context": self.context})

    def press(self, key: str) -> None:
        """One key typed (a character, or a WebDriver key code such as "\\ue004" for Tab)."""
        self.command("input.performActions", {"context": self.context, "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}],
        }]})  # fmt: skip

    def set_viewport(self, width: int, height: int) -> None:
        self.command("browsingContext.setViewport",
                     {"context": self.context, "viewport": {"width": width, "height": height}})  # fmt: skip

    def screenshot(self, path) -> None:
        data = self.command("browsingContext.captureScreenshot", {"context": self.context})["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        try:
            self.command("session.end", {}, timeout=5)
        except Exception:  # noqa: BLE001 - the browser may already be gone; it is killed below
            pass
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


def _serialise(value):
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "value": [_serialise(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[k, _serialise(v)] for k, v in value.items()]}
    raise TypeError(f"cannot pass {type(value).__name__} to the page")


def _deserialise(remote: dict):
    kind = remote.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return remote["value"]
    if kind == "number":
        value = remote["value"]
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf"),
                "-0": -0.0}.get(value, value) if isinstance(value, str) else value  # fmt: skip
    if kind == "array":
        return [_deserialise(v) for v in remote.get("value", [])]
    if kind == "object":
        return {
            (k if isinstance(k, str) else _deserialise(k)): _deserialise(v)
            for k, v in remote.get("value", [])
        }
    if kind == "node":
        return {"sharedId": remote["sharedId"]}
    return remote.get("value")

"""The three browser engines a rater may use, driven the same way, on a desktop with sound.

- Chromium: Debian's `/usr/bin/chromium` through Playwright (never a downloaded browser).
- WebKit (Safari's engine): Debian's WebKitGTK MiniBrowser through its `WebKitWebDriver`
  (package webkit2gtk-driver) and Selenium, on an Xvfb screen.
- Firefox: Debian's `firefox-esr` over the WebDriver BiDi it speaks itself (tests/browser/bidi.py).

Every engine gets the same `Rater` calls (open a page, run a script, a trusted click or key press,
the viewport, a screenshot), so one honest rater (tests/browser/rater.py) runs in all three.

The desktop: an Xvfb screen and a PulseAudio server whose default sink is a null sink (a sound
card that plays in real time into nothing; its monitor can be recorded), so media and Web Audio run
on an audio clock as on a rater's machine, and a test can check what reached the speakers.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WEBKIT_DRIVER = shutil.which("WebKitWebDriver") or "/usr/bin/WebKitWebDriver"
WEBKIT_BROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
ENGINES = ("chromium", "webkit", "firefox")
SINK = "rater"
KEYS = {"Tab": "\ue004", "Enter": "\ue007", "Space": " ", "ArrowRight": "\ue014",
        "ArrowLeft": "\ue012", "ArrowUp": "\ue013", "ArrowDown": "\ue015"}  # fmt: skip


def missing(engine: str) -> str | None:
    """Why `engine` cannot run on this machine (None when it can)."""
    need = {
        "chromium": [CHROMIUM],
        "webkit": [WEBKIT_DRIVER, WEBKIT_BROWSER, shutil.which("Xvfb") or "/usr/bin/Xvfb"],
        "firefox": [FIREFOX],
    }[engine]
    absent = [p for p in need if not Path(p).exists()]
    return f"{engine}: missing {', '.join(absent)}" if absent else None


class Desktop:
    """An Xvfb screen and a PulseAudio server with a null sink, in a temporary folder."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="desktop-"))
        self.procs: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}
        self.pulse: subprocess.Popen | None = None
        self.audio = self._pulseaudio()
        self.display = self._xvfb()

    def restart_audio(self) -> bool:
        """A new sound server for the next browser, so that nothing one browser left on it
        (streams, their state) can change how the next one plays."""
        if self.pulse is not None:
            self.pulse.terminate()
            self.pulse.wait(5)
            self.procs.remove(self.pulse)
            self.pulse = None
        self.audio = self._pulseaudio()
        return self.audio

    def _xvfb(self) -> str | None:
        if not shutil.which("Xvfb"):
            return None
        read, write = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(write)
        with os.fdopen(read) as handle:
            number = handle.readline().strip()
        if not number:
            proc.kill()
            return None
        self.procs.append(proc)
        self.env["DISPLAY"] = f":{number}"
        return self.env["DISPLAY"]

    def _pulseaudio(self) -> bool:
        if not shutil.which("pulseaudio"):
            return False
        socket = self.dir / "pulse.sock"
        socket.unlink(missing_ok=True)
        env = {**os.environ, "HOME": str(self.dir), "XDG_RUNTIME_DIR": str(self.dir)}
        proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
             "--system=no", "-n", "--use-pid-file=no", "--log-target=stderr",
             f"--load=module-null-sink sink_name={SINK} rate=48000",
             f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}"],
            env=env, stdout=subprocess.DEVNULL, stderr=(self.dir / "pulse.log").open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                return False
            time.sleep(0.05)
        self.procs.append(proc)
        self.pulse = proc
        self.env.update(PULSE_SERVER=f"unix:{socket}", XDG_RUNTIME_DIR=str(self.dir))
        return True

    def sink_inputs(self) -> int:
        """How many streams are playing into the sound card now."""
        out = subprocess.run(["pactl", "list", "short", "sink-inputs"], env={**os.environ, **self.env},
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
        return len([line for line in out.splitlines() if line.strip()])

    @contextlib.contextmanager
    def recording(self, rate: int = 8000):
        """Record what reaches the sound card; yields a function returning the samples so far
        (int16, mono) as a numpy array."""
        import numpy as np

        path = self.dir / f"monitor-{time.monotonic_ns()}.raw"
        with path.open("wb") as out:
            proc = subprocess.Popen(
                ["parec", f"--device={SINK}.monitor", "--raw", "--format=s16le", f"--rate={rate}",
                 "--channels=1", "--latency-msec=20"],
                env={**os.environ, **self.env}, stdout=out, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                yield lambda: np.frombuffer(
                    path.read_bytes()[: path.stat().st_size // 2 * 2], "<i2"
                )
            finally:
                proc.terminate()
                proc.wait(5)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# Where the keyboard focus is, against the element a keyboard-only rater wants: "there", "group"
# (another radio of its group: arrow keys move and check), or "" (Tab on).
FOCUS = """(css) => {
  const a = document.activeElement, t = document.querySelector(css);
  if (!a || !t) return "";
  if (a === t) return "there";
  return a.type === "radio" && t.type === "radio" && a.name === t.name ? "group" : "";
}"""
# The focused element shows it: an outline or a focus ring (box-shadow).
FOCUS_SHOWN = """() => {
  const s = getComputedStyle(document.activeElement);
  return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
}"""


class Timeout(AssertionError):
    pass


class Rater:
    """What every engine offers a test. `call` runs the source of a JS function with JSON-able
    arguments and returns its (awaited) JSON-able value."""

    name = ""
    version = ""
    poll_s = 0.25  # between two looks at the page while waiting

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def call(self, function: str, *args):
        raise NotImplementedError

    def click(self, css: str) -> None:
        raise NotImplementedError

    def press(self, key: str) -> None:
        raise NotImplementedError

    def set_viewport(self, width: int, height: int) -> None:
        raise NotImplementedError

    def screenshot(self, path) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- built on the above -----------------------------------------------------------------
    keyboard_only = False  # act() reaches elements with Tab (and arrows in a radio group)

    def act(self, css: str) -> None:
        """Click `css`, or for a keyboard-only rater: Tab to it (arrow keys within its radio
        group), check that the focus is visible, and press Space."""
        if not self.keyboard_only:
            self.click(css)
            return
        for _ in range(120):
            where = self.call(FOCUS, css)
            if where == "there":
                break
            self.press("ArrowRight" if where == "group" else "Tab")
        else:
            raise AssertionError(f"{self.name}: Tab never reached {css}; page: {self.summary()}")
        assert self.call(FOCUS_SHOWN), f"{self.name}: no visible focus on {css}"
        self.press("Space")

    def wait(self, function: str, *args, timeout: float = 20.0, what: str = ""):
        """Poll `function` until it returns something truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.call(function, *args)
            except Exception as exc:  # noqa: BLE001 - a page that is navigating: try again
                value, error = None, exc
            else:
                error = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise Timeout(f"{self.name}: waited {timeout:.0f} s for {what or function}"
                              f"{f' ({error})' if error else ''}; page: {self.summary()}")  # fmt: skip
            time.sleep(self.poll_s)

    def summary(self) -> str:
        try:
            return self.call(
                "() => location.pathname + ' | ' + document.title + ' | ' + "
                "(document.body ? document.body.innerText.replace(/\\s+/g, ' ').slice(0, 600) : '')"
            )
        except Exception as exc:  # noqa: BLE001 - only for an error message
            return f"(unreadable: {exc})"

    def text(self, css: str) -> str | None:
        return self.call(
            "(css) => { const e = document.querySelector(css); return e ? e.textContent : null; }",
            css,
        )

    def exists(self, css: str) -> bool:
        return bool(self.call("(css) => !!document.querySelector(css)", css))


class ChromiumRater(Rater):
    name = "chromium"

    def __init__(self, desktop: Desktop | None = None, **context):
        # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
        # around it are synchronous and safe.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        env = {**os.environ, **(desktop.env if desktop else {})}
        self.browser = self._pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, env=env,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        self.version = self.browser.version
        self.context = self.browser.new_context(**context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def goto(self, url):
        self.page.goto(url)

    def call(self, function, *args):
        return self.page.evaluate(f"(args) => ({function})(...args)", list(args))

    def click(self, css):
        self.page.click(css)

    def press(self, key):
        self.page.keyboard.press({"Space": " "}.get(key, key))

    def set_viewport(self, width, height):
        self.page.set_viewport_size({"width": width, "height": height})

    def screenshot(self, path):
        self.page.screenshot(path=str(path), full_page=True)

    def close(self):
        try:
            self.context.close()
            self.browser.close()
        finally:
            self._pw.stop()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class WebKitRater(Rater):
    name = "webkit"

    def __init__(self, desktop: Desktop, *, pulse: bool = False):
        from selenium import webdriver

        if not desktop.display:
            raise RuntimeError("WebKitGTK needs a screen: Xvfb did not start")
        options = webdriver.WebKitGTKOptions()
        options.binary_location = WEBKIT_BROWSER
        options.add_argument("--automation")
        env = {**os.environ, **desktop.env}
        if not pulse:
            # WebKitGTK 2.50 on PulseAudio 16's null sink: of a page's <video>s played one after
            # another, the second starts 2.5 s late and the third never advances (measured
            # here, every run). Without a PulseAudio server, GStreamer's own fallback output
            # plays the separate player's videos in real time; the switching player (one muted
            # video, the sound through Web Audio) needs the real sink to be credited.
            env.pop("PULSE_SERVER", None)
        service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER, env=env)
        self.driver = webdriver.WebKitGTK(options=options, service=service)
        self.driver.set_window_size(1280, 900)
        self.driver.set_script_timeout(30)
        self.version = self.driver.capabilities.get("browserVersion", "")
        self.errors: list[str] = []

    def goto(self, url):
        self.driver.get(url)

    def call(self, function, *args):
        # WebDriver's Execute Script awaits a returned promise.
        return self.driver.execute_script(f"return ({function})(...arguments);", *args)

    def click(self, css):
        from selenium.webdriver.common.by import By

        element = self.driver.find_element(By.CSS_SELECTOR, css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def press(self, key):
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(KEYS.get(key, key)).perform()

    def set_viewport(self, width, height):
        # The window's outer size; WebKitGTK's MiniBrowser has no toolbar under automation.
        self.driver.set_window_size(width, height)

    def screenshot(self, path):
        self.driver.save_screenshot(str(path))

    def close(self):
        self.driver.quit()


class FirefoxRater(Rater):
    name = "firefox"
    poll_s = 0.5

    def __init__(self, desktop: Desktop):
        from tests.browser.bidi import Firefox

        # In a window on the Xvfb screen, as on a rater's desktop (the switching player's
        # freeze, tests/browser/test_every_engine.py FIREFOX_SWITCH, happens both ways).
        headless = not desktop.display or bool(os.environ.get("FIREFOX_HEADLESS"))
        self.ff = Firefox(FIREFOX, headless=headless, env=desktop.env)
        self.version = self.ff.version
        self.errors: list[str] = []

    def goto(self, url):
        self.ff.goto(url)

    def call(self, function, *args):
        return self.ff.call(function, *args)

    def click(self, css):
        self.ff.click(css)

    def press(self, key):
        self.ff.press(KEYS.get(key, key))

    def set_viewport(self, width, height):
        self.ff.set_viewport(width, height)

    def screenshot(self, path):
        self.ff.screenshot(path)

    def close(self):
        self.ff.close()


def open_rater(engine: str, desktop: Desktop, *, many_videos: bool = True) -> Rater:
    """A fresh browser of `engine` with a fresh sound server. many_videos: the page plays
    several <video>s with sound (the separate player) rather than Web Audio (see WebKitRater)."""
    desktop.restart_audio()
    if engine == "webkit":
        return WebKitRater(desktop, pulse=not many_videos)
    return {"chromium": ChromiumRater, "firefox": FirefoxRater}[engine](desktop)

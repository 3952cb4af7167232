"""Checks shared by the report tests: the page against its JSON, self-containedness, and a real browser.

The browser check drives Debian's headless ``chromium`` over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: fd 3 in, fd 4 out, messages separated by NUL bytes): one browser per
page, which loads it, records console messages, exceptions and network requests, reads the DOM, checks
what is visible and saves a screenshot and the rendered DOM next to the test.
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaelab.reporting.html import CSP, fmt, resolve, value_text


class _Page(HTMLParser):
    """Collects ``<data>`` elements, text tied to the JSON, resource attributes and tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.numbers: list[tuple[str, str, str]] = []  # (value, data-json, text)
        self.quotes: list[tuple[str, str]] = []  # (data-json, text)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[str] = []
        self.meta: list[dict[str, str]] = []
        self._open: list[list[Any]] = []  # [tag, attrs, text parts]
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for k in ("src", "href", "srcset", "action", "poster", "data", "background"):
            if k in a:
                self.urls.append((tag, k, a[k]))
        if tag == "meta":
            self.meta.append(a)
        self._in_style = tag == "style"
        if "data-json" in a:
            self._open.append([tag, a, []])

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if self._open and self._open[-1][0] == tag:
            _, a, parts = self._open.pop()
            text = "".join(parts)
            if tag == "data":
                self.numbers.append((a["value"], a["data-json"], text))
            else:
                self.quotes.append((a["data-json"], text))
            for o in self._open:
                o[2].append(text)

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        if self._open:
            self._open[-1][2].append(data)


def parse_page(text: str) -> _Page:
    p = _Page()
    p.feed(text)
    p.close()
    return p


def _load(folder: Path, cache: dict[str, Any], src: str) -> Any:
    if src not in cache:
        cache[src] = json.loads((folder / src).read_text())
    return cache[src]


def assert_page_matches_json(folder: Path, html_path: Path | None = None, min_numbers: int = 21) -> _Page:
    """Every number on the page is its JSON's value, formatted; every quoted sentence is the JSON's text
    (and the page shows at least ``min_numbers`` numbers)."""
    html_path = html_path or folder / "report.html"
    page = parse_page(html_path.read_text(encoding="utf-8"))
    docs: dict[str, Any] = {}
    assert len(page.numbers) >= min_numbers
    for value, where, text in page.numbers:
        src, ptr = where.split("#", 1)
        v = resolve(_load(folder, docs, src), ptr)
        assert value == value_text(v), (where, value, v)
        shown = {fmt(v, d) for d in (2, 3, 4)}
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            shown |= {"+" + s for s in shown}
        assert text in shown, (where, text, v)
    for where, text in page.quotes:
        src, ptr = where.split("#", 1)
        assert text == resolve(_load(folder, docs, src), ptr), where
    return page


def assert_refused(bad: Path, out: Path, capsys: Any) -> None:
    """``vaelab report`` on the damaged folder ``bad``: one line, exit 2, neither ``out`` (nor its new parent)
    nor a new ``bad/report.html`` written."""
    from vaelab.cli import main

    before = (bad / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["report", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: ") and err.count("\n") == 1, err
    assert not out.exists() and not out.parent.exists()
    assert main(["report", str(bad)]) == 2 and (bad / "report.html").read_bytes() == before


def shown_pointers(page: _Page, src: str) -> set[str]:
    return {w.split("#", 1)[1] for _, w, _ in page.numbers if w.split("#", 1)[0] == src} | {
        w.split("#", 1)[1] for w, _ in page.quotes if w.split("#", 1)[0] == src}


def assert_self_contained(text: str) -> None:
    """No script, no external stylesheet or font, every resource a data: URI, and the CSP that blocks requests."""
    page = parse_page(text)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    for tag, attr, url in page.urls:
        assert url.startswith("data:image/png;base64,") or url.startswith("#"), (tag, attr, url[:60])
    assert any(m.get("http-equiv", "").lower() == "content-security-policy" and m.get("content") == CSP
               for m in page.meta)
    assert "url(" not in page.style and "@import" not in page.style and "@font-face" not in page.style


# ----------------------------------------------------------------------------------------------- browser


def chromium_or_skip() -> str:
    """The chromium executable; without one, skip locally but fail in CI (CI=true), which must have it."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed, but CI must run the browser tests (.ci/run installs it)")
    pytest.skip("chromium not installed (apt-get install chromium); the browser checks run in CI")


class _Chromium:
    """A minimal DevTools-protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, exe: str, profile: Path) -> None:
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def fds() -> None:  # in the child: its fd 3 reads our commands, fd 4 writes its answers
            a, b = os.dup(to_child_r), os.dup(from_child_w)  # above 4, so neither is overwritten too early
            os.dup2(a, 3)  # dup2 makes them inheritable across exec
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe", "--no-first-run",
             "--hide-scrollbars", "--window-size=1280,2000", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 20.0) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str, timeout: float = 20.0) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - it may already be gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)


# what the page shows, measured in the browser (DevTools evaluation is not subject to the page's CSP)
_PROBE = """(() => {
  const vis = el => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && el.checkVisibility({visibilityProperty: true, opacityProperty: true}); };
  const imgs = [...document.images];
  return {
    verdict: [...document.querySelectorAll('#verdict')].map(e => ({visible: vis(e), text: e.innerText})),
    flags: [...document.querySelectorAll('li.flag')].map(e => ({visible: vis(e), text: e.innerText})),
    refs: [...document.querySelectorAll('tr.ref')].filter(vis).length,
    failures: [...document.querySelectorAll('#failures')].filter(vis).length,
    images: imgs.map(i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, shown: vis(i),
                            file: i.dataset.file})),
    height: document.documentElement.scrollHeight,
  };
})()"""


def open_in_chromium(html_path: Path, out_dir: Path) -> dict[str, Any]:
    """Load ``html_path`` headless; save ``screenshot.png`` and ``dom.html`` in ``out_dir``; return what was seen.

    Returns ``probe`` (see :data:`_PROBE`), ``console`` (console messages, log entries and exceptions)
    and ``requests`` (every URL the page asked for besides itself and its ``data:`` figures).
    """
    exe = chromium_or_skip()
    out_dir.mkdir(parents=True, exist_ok=True)
    b = _Chromium(exe, out_dir / "profile")
    try:
        targets = b.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        sid = b.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(f"{domain}.enable", session=sid)
        b.events.clear()
        url = html_path.resolve().as_uri()
        b.send("Page.navigate", {"url": url}, session=sid)
        b.wait_for("Page.loadEventFired")
        probe = b.send("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=sid)
        probe = probe["result"]["value"]
        dom = b.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                          "returnByValue": True}, session=sid)["result"]["value"]
        (out_dir / "dom.html").write_text(dom, encoding="utf-8")
        shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
            "x": 0, "y": 0, "width": 1280, "height": min(int(probe["height"]), 6000), "scale": 1}}, session=sid)
        (out_dir / "screenshot.png").write_bytes(base64.b64decode(shot["data"]))
        console = []
        requests = []
        for e in b.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled":
                console.append(f"console.{p.get('type')}: {p.get('args')}")
            elif m == "Runtime.exceptionThrown":
                console.append(f"exception: {p.get('exceptionDetails')}")
            elif m == "Log.entryAdded":
                console.append(f"log {p['entry'].get('level')}: {p['entry'].get('text')}")
            elif m == "Network.requestWillBeSent":
                u = p["request"]["url"]
                if u != url and not u.startswith("data:"):  # the page itself and its embedded figures
                    requests.append(u[:200])
        return {"probe": probe, "console": console, "requests": requests}
    finally:
        b.close()


def assert_reads_in_browser(html_path: Path, out_dir: Path, *, flags: bool, failures: bool = False,
                            min_height: int = 1000) -> dict[str, Any]:
    """The page loads with no request and no console message; verdict, flags and every figure are visible."""
    from PIL import Image

    seen = open_in_chromium(html_path, out_dir)
    assert seen["requests"] == [], seen["requests"]
    assert seen["console"] == [], seen["console"]
    probe = seen["probe"]
    assert len(probe["verdict"]) == 1 and probe["verdict"][0]["visible"] and len(probe["verdict"][0]["text"]) > 40
    if flags:
        assert len(probe["flags"]) >= 3 and all(f["visible"] for f in probe["flags"])
    if failures:
        assert probe["failures"] == 1
    assert probe["images"], "no figure"
    for im in probe["images"]:
        assert im["complete"] and im["w"] > 100 and im["h"] > 100 and im["shown"], im
    with Image.open(out_dir / "screenshot.png") as shot:
        assert shot.size[0] == 1280 and shot.size[1] > min_height
        ink = np.asarray(shot.convert("L")) < 128  # text, lines and figure strokes
    assert ink.mean() > 0.005 and ink[:600].mean() > 0.002, "the screenshot is (nearly) blank"
    assert (out_dir / "dom.html").stat().st_size > 1000
    return probe

"""A PNG of a local page, taken by headless Chromium; or the page's DOM after its scripts ran.

    python dev/screenshot.py PAGE.html OUT.png [--width 1440] [--height 1000]

Chromium is Debian's `chromium` package, found on PATH (`make chromium` or
`apt-get install chromium` installs it). Each run gets a fresh profile directory, so runs never
share state; --virtual-time-budget lets the page's scripts (plotly) finish before the
screenshot or the DOM dump. Run as root, Chromium needs --no-sandbox.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BUDGET_MS = 20000


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing("chromium is not on PATH: install it with `apt-get install chromium` "
                          "(Debian's package; `make chromium` does it)")


def _run(page: Path, extra: list[str], width: int, height: int, budget_ms: int, timeout: float) -> str:
    page = Path(page).resolve()
    if not page.is_file():
        raise FileNotFoundError(page)
    with tempfile.TemporaryDirectory(prefix="plgov-chromium-") as profile:
        args = [find_chromium(), "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
                "--force-device-scale-factor=1", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}", *extra]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")
        args.append(page.as_uri())
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-3000:]}")
    return result.stdout


def screenshot(page: Path, png: Path, width: int = 1440, height: int = 1000, budget_ms: int = BUDGET_MS,
               timeout: float = 120) -> Path:
    """Takes a PNG of `page` at `width` x `height` pixels and returns its path."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    _run(page, [f"--screenshot={png}"], width, height, budget_ms, timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return png


def dump_dom(page: Path, width: int = 1440, height: int = 1000, budget_ms: int = BUDGET_MS,
             timeout: float = 120) -> str:
    """The page's DOM, serialized, after its scripts ran."""
    return _run(page, ["--dump-dom"], width, height, budget_ms, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    try:
        print(screenshot(args.page, args.png, args.width, args.height))
    except ChromiumMissing as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()

"""The built documentation site as a reader sees it (``make docs-check``; skipped unless NNSURROGATE_SITE is set).

Every local link and image resolves, every tutorial page shows executed output (text and at least one
plot), and headless Chromium renders the home page and every tutorial to a non-blank screenshot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

SITE = Path(os.environ.get("NNSURROGATE_SITE", "")) if os.environ.get("NNSURROGATE_SITE") else None
pytestmark = pytest.mark.skipif(SITE is None, reason="set NNSURROGATE_SITE to a built site (make docs-check)")


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            (self.images if tag == "img" else self.links).append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])
        self.classes += (attrs.get("class") or "").split()


def _pages() -> list[Path]:
    return sorted(SITE.rglob("*.html"))


def _tutorials() -> list[Path]:
    return sorted((SITE / "tutorials").glob("*/index.html"))


def _parse(page: Path) -> _Refs:
    refs = _Refs()
    refs.feed(page.read_text(encoding="utf-8"))
    return refs


def _target(page: Path, ref: str) -> Path | None:
    """The file a local reference points at (None for external, anchors and data URIs)."""
    parts = urlsplit(ref)
    if parts.scheme or ref.startswith(("#", "data:", "mailto:")) or not parts.path:
        return None
    base = SITE if parts.path.startswith("/") else page.parent  # the 404 page links from the site root
    path = (base / unquote(parts.path).lstrip("/")).resolve()
    return path / "index.html" if path.is_dir() or parts.path.endswith("/") else path


def test_site_has_the_home_page_and_every_tutorial():
    assert (SITE / "index.html").is_file()
    names = {p.parent.name for p in _tutorials()}
    assert {"thin_film", "band_gap", "heat_rod", "gas2d", "nep", "crystal"} <= names, names


@pytest.mark.parametrize("kind", ["links", "images"])
def test_every_local_link_and_image_resolves(kind):
    broken = []
    for page in _pages():
        refs = _parse(page)
        for ref in getattr(refs, kind):
            target = _target(page, ref)
            if target is not None and not target.exists():
                broken.append(f"{page.relative_to(SITE)} → {ref}")
    assert not broken, "\n".join(broken[:20])


def test_every_tutorial_shows_executed_text_and_plots():
    for page in _tutorials():
        refs = _parse(page)
        outputs = [c for c in refs.classes if c == "jp-OutputArea-output"]
        images = [src for src in refs.images if src.startswith("data:image/png;base64,") and len(src) > 2000]
        assert outputs and images, f"{page.relative_to(SITE)}: {len(outputs)} outputs, {len(images)} plots"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (Debian package chromium)")
def test_chromium_renders_the_home_page_and_every_tutorial(tmp_path):
    for page in [SITE / "index.html", *_tutorials()]:
        shot = tmp_path / f"{'home' if page.parent == SITE else page.parent.name}.png"
        subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1280,1600", f"--screenshot={shot}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        assert shot.is_file() and shot.stat().st_size > 20_000, f"{page}: blank or missing screenshot"
        kept = os.environ.get("NNSURROGATE_SCREENSHOTS")
        if kept:
            Path(kept).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(kept) / shot.name)

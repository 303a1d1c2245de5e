"""The book pipeline end to end: every notebook with the smoke profile, then the book with
warnings as errors; plus the guards (error output fails, unchanged inputs re-execute nothing)."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from augworth import config, paths, pipeline
from augworth.config import Params, param

pytestmark = pytest.mark.slow
JB = Path(sys.executable).parent / "jupyter-book"


def _same_numbers_as_before_the_renovation(records: Path) -> None:
    """Every claim's numbers at the smoke profile are those recorded before the experiments floor
    was renovated (tests/data/smoke_records.json), bit for bit -- on a machine with the recorded
    signature; another CPU takes other floating-point paths, so there only the claims must match."""
    import json

    from smoke_identity import FIXTURE, machine, numbers

    recorded = json.loads(FIXTURE.read_text())
    now = numbers(records)
    assert sorted(now) == sorted(recorded["records"])
    if machine() == recorded["machine"]:
        # json round trip on both sides: NaN == NaN as text, tuples as lists
        assert json.dumps(now, sort_keys=True) == json.dumps(recorded["records"], sort_keys=True)


def test_smoke_notebooks_and_book_build(tmp_path):
    if not (paths.BOOK / "_static" / "mathjax" / "tex-mml-chtml.js").is_file():
        pytest.fail("MathJax is not vendored: run `make mathjax` (make test does it)")
    book = tmp_path / "book"
    shutil.copytree(paths.BOOK, book, ignore=shutil.ignore_patterns("_build", "chapters"))
    outcomes = pipeline.execute_all(None, "smoke", out_dir=book / "chapters")
    assert [o.name for o in outcomes] == pipeline.notebook_names()
    assert {o.status for o in outcomes} == {"executed"}
    again = pipeline.execute_all(None, "smoke", out_dir=book / "chapters")
    assert {o.status for o in again} == {"up to date"}  # nothing changed: nothing re-executed
    _same_numbers_as_before_the_renovation(book / "chapters" / "_records")

    done = subprocess.run([str(JB), "build", str(book), "-W", "-n", "--keep-going", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = book / "_build" / "html"
    assert (html / "index.html").is_file()
    for name in pipeline.notebook_names():
        page = (html / "chapters" / f"{name}.html").read_text()
        assert "Verdict" in page
    data_page = (html / "chapters" / "data.html").read_text()
    assert "Verdict: the splits are sound" in data_page  # the smoke run's own checks pass
    # offline book: no script, stylesheet or font fetched from another host
    external, broken = [], []
    for f in html.rglob("*.html"):
        if f.relative_to(html).parts[0] in ("_static", "_sources"):  # theme templates, not pages
            continue
        text = f.read_text()
        external += re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', text)
        external += re.findall(r'"(https://unpkg\.com[^"]*|https://cdn[^"]*)"', text)
        for link in re.findall(r'<(?:a|link|script|img)\b[^>]*?\b(?:src|href)=["\']([^"\'#?]+)', text):  # they resolve
            if not re.match(r"^[a-z]+:", link) and not (f.parent / link).exists():
                broken.append(f"{f.relative_to(html)} -> {link}")
    assert external == []
    assert broken == []
    # the scorecard lists exactly the registered claims, each linked to its chapter
    from augworth import claims

    score = (html / "chapters" / "scorecard.html").read_text()
    assert re.findall(r"<td><b>([A-C][0-9])</b></td>", score) == list(claims.CLAIMS)
    for c in claims.CLAIMS.values():
        assert f"href='{c.notebook}.html'" in score or f'href="{c.notebook}.html"' in score
    assert "Verdict: every registered claim has a record." in score  # every chapter ran and recorded
    screenshot(html / "chapters" / "scorecard.html", tmp_path / "scorecard.png")
    browser_check(html, [c.notebook for c in claims.CLAIMS.values()])


_LAYOUT = """() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('main');
  const right = art.getBoundingClientRect().right + 2;
  const cut = [];
  for (const el of art.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= right) continue;
    let p = el.parentElement, scrolls = false;
    while (p && p !== art) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) { scrolls = true; break; }
      p = p.parentElement;
    }
    if (!scrolls) cut.push(el.tagName + ' ' + (el.textContent || '').slice(0, 60));
  }
  return {cut: cut.slice(0, 5), text: art.innerText};
}"""


def browser_check(html: Path, claim_chapters) -> None:
    """The built book in a real headless browser (Playwright driving the system chromium) at
    1300 px: nothing in the main column is wider than the column unless it scrolls, no page shows
    papermill's raw parameters cell, and every chapter with claims opens with its result box."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium): the browser check needs it")
        pytest.skip("chromium is not installed: the browser check is skipped")
    from playwright.sync_api import sync_playwright

    pages = ["intro"] + [f"chapters/{n}" for n in pipeline.notebook_names()]  # index.html redirects to intro
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1300, "height": 1000})
            for name in pages:
                tab.goto((html / f"{name}.html").as_uri())
                found = tab.evaluate(_LAYOUT)
                assert found["cut"] == [], f"{name}: cut off at the column's edge: {found['cut']}"
                assert "# Parameters" not in found["text"], f"{name} shows papermill's parameters cell"
                if name.removeprefix("chapters/") in claim_chapters:
                    assert "Results at our scale" in found["text"], f"{name} has no result box"
        finally:
            browser.close()


def screenshot(page: Path, png: Path) -> None:
    """Headless Chromium renders the page; the picture must not be blank."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium): the book's screenshot check needs it")
        pytest.skip("chromium is not installed: the screenshot check of the scorecard is skipped")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={png.parent / 'chromium-profile'}", "--hide-scrollbars",
                           "--window-size=1200,1600", "--virtual-time-budget=5000", f"--screenshot={png}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.is_file(), done.stderr[-2000:]
    from PIL import Image

    import numpy as np

    pixels = np.asarray(Image.open(png).convert("L"))
    dark = (pixels < 128).mean()  # text and table rules
    assert len(np.unique(pixels)) > 20 and dark > 0.005, "the scorecard screenshot is blank"


def test_error_output_fails_the_run(tmp_path, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class BoomParams(Params):
        notebook = "boom"
        x: int = param(1, "x")

    nbs, prm = tmp_path / "notebooks", tmp_path / "params"
    nbs.mkdir()
    (prm / "smoke").mkdir(parents=True)
    (prm / "smoke" / "boom.yaml").write_text("x: 2\n")
    (nbs / "boom.py").write_text('# %% tags=["parameters"]\nprofile = "smoke"\nparams = {}\n\n'
                                 '# %%\nraise ValueError(f"boom {params}")\n')
    monkeypatch.setattr(paths, "NOTEBOOKS", nbs)
    monkeypatch.setattr(paths, "PARAMS", prm)
    monkeypatch.setitem(config.NOTEBOOK_PARAMS, "boom", BoomParams)
    with pytest.raises(pipeline.NotebookFailed, match=r"notebook 'boom' failed in cell \d+: ValueError: boom .*"
                                                      r"build/failed/boom.ipynb"):
        pipeline.execute("boom", "smoke", out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "boom.ipynb").exists()
    with pytest.raises(config.ConfigError, match="parameter 'x' of notebook 'boom' = 'a' has the wrong type"):
        pipeline.execute("boom", "smoke", {"x": "a"}, out_dir=tmp_path / "out")


def test_one_chapter_builds_a_book_with_stubs_for_the_rest(tmp_path):
    """make nb NAME=data on a fresh clone: only that chapter (and the scorecard) executes; the
    chapters never executed are short pages saying how to run them, and the build is warning-free."""
    book = tmp_path / "book"
    shutil.copytree(paths.BOOK, book, ignore=shutil.ignore_patterns("_build", "chapters"))
    pipeline.execute_all(["data", "scorecard"], "smoke", out_dir=book / "chapters")
    stubs = sorted(p.stem for p in (book / "chapters").glob("*.md"))
    assert stubs == sorted(set(pipeline.notebook_names()) - {"data", "scorecard"})
    done = subprocess.run([str(JB), "build", str(book), "-W", "-n", "--keep-going", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = re.sub(r"<[^>]+>", "", (book / "_build" / "html" / "chapters" / "exchange_rate.html").read_text())
    assert "make nb NAME=exchange_rate" in page and "has not been executed" in page
    (book / "chapters" / "exchange_rate.ipynb").write_text("{}")  # as if executed now
    pipeline.write_stubs(book / "chapters")
    assert not (book / "chapters" / "exchange_rate.md").exists()  # executed: its stub is gone


def test_a_page_is_executed_again_when_its_profile_is_shipped_again(tmp_path, monkeypatch):
    """Executed notebooks are reused while nothing they read changed; results shipped again
    (a new PROVENANCE.json) are something they read."""
    monkeypatch.setattr(paths, "COMMITTED_RESULTS", tmp_path)
    before = pipeline.notebook_key("flatness", "book", {})
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "PROVENANCE.json").write_text('{"shipped": "1"}')
    shipped = pipeline.notebook_key("flatness", "book", {})
    (tmp_path / "book" / "PROVENANCE.json").write_text('{"shipped": "2"}')
    assert len({before, shipped, pipeline.notebook_key("flatness", "book", {})}) == 3
    assert pipeline.notebook_key("flatness", "quick", {}) != shipped

"""Reports on a user's own data: a parameterised notebook (``reports/<name>.py``) executed with
papermill and rendered to ONE self-contained HTML page (figures embedded as PNG, no script, no
stylesheet or font from the network: it opens offline, from a file or a mail attachment).

Rendering is deliberately small: markdown cells through markdown-it, outputs by MIME type
(PNG, HTML, markdown, plain text), code folded behind a "code" toggle (``<details>``) unless
a cell is tagged ``show-input``; cells tagged ``remove-cell`` (papermill's injected parameters)
are left out.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from html import escape
from pathlib import Path
from typing import Any

from . import paths
from .io import atomic_write_text

CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.7rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ddd}
img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.5rem .75rem;overflow-x:auto;font-size:.85rem}
.out{overflow-x:auto;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}
details{margin:.25rem 0}summary{cursor:pointer;color:#555;font-size:.85rem}
"""


@functools.lru_cache(maxsize=1)
def _renderer():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table")


def _markdown(text: str) -> str:
    return _renderer().render(text)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return f"<pre>{escape(_text(out.get('text', '')))}</pre>"
    if kind == "error":
        return f"<pre style='color:#b00020'>{escape(out.get('ename', ''))}: {escape(out.get('evalue', ''))}</pre>"
    data = out.get("data", {})
    if "image/png" in data:
        png = _text(data["image/png"]).replace("\n", "")
        base64.b64decode(png, validate=True)  # a broken image fails here, not in the reader's browser
        return f"<div class='out'><img alt='figure' src='data:image/png;base64,{png}'></div>"
    if "text/html" in data:
        return f"<div class='out'>{_text(data['text/html'])}</div>"
    if "text/markdown" in data:
        return f"<div class='out'>{_markdown(_text(data['text/markdown']))}</div>"
    if "text/plain" in data:
        return f"<pre>{escape(_text(data['text/plain']))}</pre>"
    return ""


def render_html(nb, title: str) -> str:
    """An executed notebook as one self-contained HTML page."""
    body = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags or "injected-parameters" in tags:
            continue
        if cell.cell_type == "markdown":
            body.append(_markdown(cell.source))
            continue
        if cell.cell_type != "code":
            continue
        if cell.source.strip():
            code = f"<pre>{escape(cell.source)}</pre>"
            body.append(code if "show-input" in tags else f"<details><summary>code</summary>{code}</details>")
        body.extend(_output(o) for o in cell.get("outputs", []))
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def make(name: str, params: dict[str, Any], out_dir: Path, title: str) -> tuple[Path, float]:
    """Execute ``reports/<name>.py`` with ``params`` and write ``report.ipynb`` (re-executable)
    and ``report.html`` into ``out_dir``; returns the HTML page's path and the seconds taken."""
    import nbformat

    from .pipeline import _errors, run_notebook

    source = paths.REPORTS / f"{name}.py"
    start = time.perf_counter()
    executed = run_notebook(source, {"profile": "worth", "params": json.loads(json.dumps(params))})
    errors = _errors(executed)
    if errors:
        raise RuntimeError(f"report '{name}' produced error output: {errors}")
    for cell in executed.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.metadata["tags"].append("remove-cell")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "report.ipynb", nbformat.writes(executed))
    atomic_write_text(out_dir / "report.html", render_html(executed, title))
    return out_dir / "report.html", time.perf_counter() - start

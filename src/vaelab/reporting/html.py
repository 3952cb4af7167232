"""Building blocks of the self-contained HTML report: escaping, numbers tied to their JSON, tables, figures.

Every number taken from a result file is written as ``<data value="…" data-json="FILE#/pointer">shown</data>``
(:func:`num`): the exact value, where it comes from (a JSON Pointer, RFC 6901, into a file of the result
folder) and the text shown, so a test — or a reader — can check the page against the JSON. Every other
piece of text from data (class names, reasons, verdicts) goes through :func:`esc`.

The page loads nothing: figures are PNG data URIs, styles are inline, there is no script, and a
Content-Security-Policy meta tag (:data:`CSP`) makes the browser refuse any request should one slip in.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from vaelab.reporting.html_assets import CSS

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def esc(x: Any) -> str:
    """Text from data, escaped for HTML content and attribute values."""
    return html.escape(str(x), quote=True)


def pointer(*keys: Any) -> str:
    """JSON Pointer (RFC 6901) to ``keys``: ``pointer("diversity", "a/b") == "/diversity/a~1b"``."""
    return "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def resolve(doc: Any, ptr: str) -> Any:
    """The value at JSON Pointer ``ptr`` in ``doc`` (``KeyError``/``IndexError`` when absent)."""
    if ptr == "":
        return doc
    for raw in ptr.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def fmt(v: Any, digits: int = 4) -> str:
    """How a number is shown: ``digits`` significant digits, ``n/a`` for missing, ``nan``/``inf`` as such."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "−inf"
        return f"{v:.{digits}g}"
    return str(v)


def value_text(v: Any) -> str:
    """The exact value of a number for the ``value`` attribute (``repr`` of the float, ``null`` for None)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(float(v)) if isinstance(v, float) else str(v)


def num(v: Any, src: str, ptr: str, digits: int = 4, signed: bool = False) -> str:
    """A number from file ``src`` at JSON Pointer ``ptr``, with its exact value and origin."""
    shown = fmt(v, digits)
    if signed and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        shown = "+" + shown
    return f'<data value="{esc(value_text(v))}" data-json="{esc(src)}#{esc(ptr)}">{esc(shown)}</data>'


def quoted(text: str, src: str, ptr: str, tag: str = "span") -> str:
    """A sentence taken verbatim from the JSON (verdict, reason, note), marked with its origin."""
    return f'<{tag} data-json="{esc(src)}#{esc(ptr)}">{esc(text)}</{tag}>'


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", caption: str = "") -> str:
    """A table from already-rendered cells (``head`` is escaped here, cells are not)."""
    out = [f'<table class="{esc(cls)}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{caption}</caption>")
    out.append("<thead><tr>" + "".join(f'<th scope="col">{esc(h)}</th>' for h in head) + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def definition_list(items: Iterable[tuple[str, str]]) -> str:
    """``<dl>`` of (term, already-rendered description) pairs."""
    return '<dl class="meta">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def section(title: str, body: str, *, sid: str = "", collapsed: bool | None = None) -> str:
    """A section; ``collapsed`` True/False makes it a ``<details>`` (closed/open) for long content."""
    anchor = f' id="{esc(sid)}"' if sid else ""
    if collapsed is None:
        return f"<section{anchor}><h2>{esc(title)}</h2>{body}</section>"
    state = "" if collapsed else " open"
    return f"<section{anchor}><details{state}><summary><h2>{esc(title)}</h2></summary>{body}</details></section>"


def figure(png: bytes, caption: str, name: str) -> str:
    """A PNG embedded as a data URI, with its caption (escaped) and source file name."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="{uri}" alt="{esc(caption)}" data-file="{esc(name)}">'
            f"<figcaption>{esc(caption)} <span class=\"file\">({esc(name)})</span></figcaption></figure>")


def badge(raised: bool | None) -> str:
    """RAISED / ok / not computed, as a coloured label."""
    word, cls = {True: ("RAISED", "raised"), False: ("ok", "ok"), None: ("not computed", "na")}[raised]
    return f'<span class="badge {cls}">{word}</span>'


def page(title: str, body: str) -> str:
    """The whole document: CSP, inline styles, no script."""
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="vaelab">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


__all__ = ["CSP", "PNG_SIGNATURE", "badge", "definition_list", "esc", "figure", "fmt", "num", "page", "pointer",
           "quoted", "resolve", "section", "table", "value_text"]

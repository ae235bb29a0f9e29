"""Building report HTML safely: one escaping rule for every piece of text.

Everything a report shows passes through :func:`esc` unless it is already
:class:`Markup` (HTML this module built, or a chart SVG checked by
:func:`heron_research.charts.to_svg`). Client text can therefore never become markup:
``<script>`` typed in a situation appears as the text ``<script>``.

:func:`xml_safe` is the one sanitising step for text on its way into a page or a chart:
each character XML 1.0 forbids (C0 controls other than tab, newline and carriage return,
U+FFFE, U+FFFF, lone surrogates) is shown as :data:`REPLACEMENT` instead. :func:`esc` applies
it to every piece of text, and the chart builders to every value they hand to vl-convert
(which aborts its whole process on such a character). Only what is shown changes: the
workbook keeps the text exactly as it was typed.

:func:`check_offline` is the last gate before a report is written: it refuses HTML that
would load anything from elsewhere or run a script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any

from heron_research.analysis.rounding import fixed

__all__ = [
    "REPLACEMENT",
    "Markup",
    "Section",
    "check_offline",
    "definition_list",
    "esc",
    "figure",
    "join",
    "note",
    "para",
    "table",
    "tag",
    "xml_safe",
]

#: what a character XML forbids is shown as (U+FFFD, the Unicode replacement character)
REPLACEMENT = "\ufffd"
#: characters XML 1.0 does not allow in a document (its ``Char`` production, inverted)
_NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by :data:`REPLACEMENT`
    (a visible mark, so a reader sees that something was there)."""
    return _NOT_XML.sub(REPLACEMENT, text)


class Markup(str):
    """A string that is already safe HTML (built here, never from raw client text)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value.day} {value:%b %Y %H:%M}"
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, float):
        return fixed(value)  # one decimal, halves up, as every number in the reports
    text = str(value)
    return "" if text in ("<NA>", "NaT", "nan") else text


def esc(value: Any) -> Markup:
    """``value`` as HTML text: escaped unless it is already :class:`Markup`."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(xml_safe(_plain(value)), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Escape each part and join them."""
    return Markup(sep.join(esc(p) for p in parts))


_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_ATTR = re.compile(r"^[a-z][a-z0-9-]*$")


def tag(name: str, *children: Any, **attrs: Any) -> Markup:
    """``<name attrs>children</name>``: children and attribute values are escaped.

    Attribute names are given as keywords (``class_`` for ``class``, ``aria_label`` for
    ``aria-label``); a value of ``None`` or ``False`` leaves the attribute out.
    """
    if not _NAME.match(name):
        raise ValueError(f"not a tag name: {name!r}")
    rendered = []
    for key, value in attrs.items():
        attr = key.rstrip("_").replace("_", "-")
        if not _ATTR.match(attr) or attr.startswith("on"):
            raise ValueError(f"attribute not allowed: {attr!r}")
        if value is None or value is False:
            continue
        rendered.append(attr if value is True else f'{attr}="{esc(value)}"')
    opening = " ".join([name, *rendered])
    return Markup(f"<{opening}>{join(children)}</{name}>")


def para(*parts: Any, class_: str | None = None) -> Markup:
    return tag("p", *parts, class_=class_)


def note(*parts: Any) -> Markup:
    """A quiet aside: how to read something, or that there is nothing to show."""
    return tag("p", *parts, class_="note")


def definition_list(items: Iterable[tuple[Any, Any]]) -> Markup:
    """``<dl>`` of (term, description) pairs; empty descriptions are left out."""
    body = []
    for term, desc in items:
        if _plain(desc) == "" and not isinstance(desc, Markup):
            continue
        body.append(tag("dt", term) + tag("dd", desc))
    return tag("dl", Markup("".join(body))) if body else Markup("")


def table(
    rows: Iterable[Sequence[Any]],
    headers: Sequence[str],
    *,
    caption: str | None = None,
    numeric: Sequence[int] = (),
) -> Markup:
    """A table of escaped cells. ``numeric`` lists column numbers to right-align."""
    head = tag("tr", *(tag("th", h, scope="col") for h in headers))
    body = []
    for row in rows:
        cells = [
            tag("td", cell, class_="num" if i in numeric else None) for i, cell in enumerate(row)
        ]
        body.append(tag("tr", *cells))
    parts = [tag("caption", caption)] if caption else []
    parts += [tag("thead", head), tag("tbody", *body)]
    return tag("table", *parts)


def figure(svg: str, caption: str) -> Markup:
    """A chart: ``svg`` must come from :func:`heron_research.charts.to_svg` (checked there)."""
    return tag(
        "figure",
        tag("div", Markup(svg), class_="chart", role="img", aria_label=caption),
        tag("figcaption", caption),
    )


class Section:
    """One section of a report: a heading and its body, shown by Jupyter as HTML."""

    def __init__(
        self,
        slug: str,
        title: str,
        *body: Any,
        data: dict[str, Any] | None = None,
        level: int = 2,
    ) -> None:
        self.slug = slug
        self.title = title
        self.body = join(body)
        self.data = data
        self.level = level

    def html(self) -> Markup:
        return tag(
            "section",
            tag(f"h{self.level}", self.title),
            self.body,
            id=self.slug,
            class_="report-section",
        )

    def _repr_html_(self) -> str:
        return str(self.html())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/html": str(self.html())}
        if self.data is not None:
            bundle[REPORT_MIME] = self.data
        return bundle

    def __str__(self) -> str:
        return str(self.html())


#: mime type of the small JSON summary the cover hands to the runner (not shown in HTML)
REPORT_MIME = "application/vnd.heron-research.report+json"

#: Looked for anywhere in the page: escaped text never holds a "<", so these match real tags.
_TAGS = (
    re.compile(r"<script\b", re.IGNORECASE),  # a report runs no script at all
    re.compile(r"<(?:iframe|object|embed|base)\b", re.IGNORECASE),
)
#: Looked for in the markup only (tags with their attributes, style sheets): a client's text
#: may well say "@import", "url(//" or 'href="//' (chart text keeps its quotes as they are).
_MARKUP = (
    re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE),
    re.compile(r"\b(?:src|href|xlink:href|action|poster)\s*=\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE),
    re.compile(r"@import\b", re.IGNORECASE),
)


#: attributes that hold words for people (a chart's aria-label names its data, which may be
#: a client's text): they are text, however they read
_TEXT_ATTRIBUTES = ("title", "alt", "placeholder")


class _Markup(HTMLParser):
    """Collects what a browser acts on: each tag with its attribute values decoded (those
    holding words for people left out), and the content of style and script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._raw = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = [
            f'{name}="{value or ""}"'
            for name, value in attrs
            if not (name.startswith("aria-") or name in _TEXT_ATTRIBUTES)
        ]
        self.parts.append(f"<{' '.join([tag, *kept])}>")
        self._raw = tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._raw = False

    def handle_data(self, data: str) -> None:
        if self._raw:
            self.parts.append(data)


def _markup(document: str) -> str:
    """The tags (attribute values decoded) and style sheets of ``document``, one per line,
    without its text."""
    parser = _Markup()
    parser.feed(document)
    parser.close()
    return "\n".join(parser.parts)


def _search(patterns: Iterable[re.Pattern[str]], text: str) -> list[str]:
    problems = []
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 40)
            problems.append(text[start : match.end() + 40].replace("\n", " "))
    return problems


def check_offline(document: str) -> list[str]:
    """What in ``document`` would reach the network or load a script: an empty list when
    the report is self-contained. Text is not markup: a client who writes "@import" or
    'href="//' in an entry has not made the report load anything."""
    return _search(_TAGS, document) + _search(_MARKUP, _markup(document))

"""Charts as inline SVG, drawn on the server: horizontal bars (plain, grouped or stacked) and a
line. Every text is XML-escaped here and the result marked safe only after; Persian labels are
plain text the browser shapes (direction="rtl" on the chart, the bars growing from the right).
Each bar and point carries a <title> (its tooltip and accessible name) and, when given, a link
to the people behind it. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

__all__ = ["Bar", "Point", "Row", "Series", "hbars", "line"]

WIDTH = 480  # viewBox units; the page scales the chart to its column (crisp at any size)
PAD = 8
VALUE_ROOM = 78  # the trailing room each bar row keeps for its value text
LABEL_SIZE = 13
SMALL = 11
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One kind of bar (a status, a horizon): its legend text and CSS class (its colour)."""

    label: str
    css: str


@dataclass(frozen=True)
class Bar:
    """One bar or segment: its size, its tooltip and where it leads (None: nowhere)."""

    value: float
    tip: str
    href: str | None = None
    text: str = ""  # shown after a grouped bar
    css: str | None = None  # instead of its series' class


@dataclass(frozen=True)
class Row:
    """One row of bars: its label, its bars (one per series) and its value text."""

    label: str
    bars: Sequence[Bar]
    text: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Point:
    """One point of a line: its x label (may be empty), value, tooltip and link."""

    label: str
    value: float
    tip: str
    href: str | None = None


def _attr(value: object) -> str:
    """An escaped, quoted attribute value."""
    return quoteattr(str(value))


def _num(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, anchor: str, size: int, css: str = "") -> str:
    """A text element; its content escaped."""
    cls = f" class={_attr(css)}" if css else ""
    return (
        f"<text x={_attr(_num(x))} y={_attr(_num(y))} text-anchor={_attr(anchor)}"
        f" font-size={_attr(size)}{cls}>{escape(text)}</text>"
    )


def _link(inner: str, href: str | None) -> str:
    """``inner`` inside a link when there is somewhere to go."""
    return f"<a href={_attr(href)}>{inner}</a>" if href else inner


def _rect(x: float, y: float, w: float, h: float, css: str, tip: str) -> str:
    """A bar with its tooltip."""
    return (
        f"<rect x={_attr(_num(x))} y={_attr(_num(y))} width={_attr(_num(max(w, 0)))}"
        f" height={_attr(_num(h))} class={_attr(css)}><title>{escape(tip)}</title></rect>"
    )


def _open(height: float, title: str, desc: str, rtl: bool, css: str) -> tuple[str, str]:
    """The <svg> opening with its accessible title and description; the id prefix."""
    uid = f"c{next(_ids)}"
    direction = ' direction="rtl"' if rtl else ""
    return (
        f'<svg class={_attr("chart " + css)} viewBox="0 0 {WIDTH} {_num(height)}"'
        f' role="img" aria-labelledby="{uid}t {uid}d"{direction}'
        ' xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}t">{escape(title)}</title><desc id="{uid}d">{escape(desc)}</desc>',
        uid,
    )


def _legend(series: Sequence[Series], y: float, rtl: bool) -> tuple[list[str], float]:
    """Legend swatches and texts flowing along the reading direction; the y below them."""
    parts: list[str] = []
    x = 0.0
    for s in series:
        width = 18 + len(s.label) * 6.6 + 14
        if x and x + width > WIDTH - 2 * PAD:
            x, y = 0.0, y + 18
        sx = WIDTH - PAD - x - 10 if rtl else PAD + x
        parts.append(f'<rect x="{_num(sx)}" y="{_num(y - 9)}" width="10" height="10"'
                     f" class={_attr(s.css)}/>")  # fmt: skip
        tx = sx - 5 if rtl else sx + 15
        parts.append(_text(tx, y, s.label, anchor="start", size=SMALL, css="legend"))
        x += width
    return parts, y + 14


def hbars(
    rows: Sequence[Row],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    rtl: bool,
    mode: str = "stacked",
    scale: float | None = None,
    legend: bool = True,
) -> Markup:
    """Rows of horizontal bars: a row's bars ``stacked`` end to end (the row's text after
    them) or ``grouped`` one under another (each bar's text after it); each row's label above
    its bars. Bars grow from the reading side (the right in Persian). ``scale``: the value of
    a full bar (default: the largest)."""
    if mode not in ("stacked", "grouped"):
        raise ValueError(mode)
    grouped = mode == "grouped"
    sizes = (
        [b.value for r in rows for b in r.bars]
        if grouped
        else [sum(b.value for b in r.bars) for r in rows]
    )
    full = scale or max(sizes, default=0) or 1
    span = WIDTH - 2 * PAD - VALUE_ROOM
    bar_h = 10 if grouped else 14
    parts: list[str] = []
    y = 4.0
    if legend and len(series) > 1:
        parts, y = _legend(series, y + 12, rtl)
    lead = WIDTH - PAD if rtl else PAD
    sign = -1 if rtl else 1

    def value_text(end: float, top: float, text: str) -> None:
        """A bar's (or row's) value text just past its end."""
        if text:
            x = lead + sign * (end + 5)
            parts.append(_text(x, top + bar_h - 2, text, anchor="start", size=SMALL, css="value"))

    for row in rows:
        y += 16
        parts.append(_link(_text(lead, y, row.label, anchor="start", size=LABEL_SIZE), row.href))
        y += 5
        offset = 0.0
        for i, bar in enumerate(row.bars):
            w = span * bar.value / full
            x = lead - offset - w if rtl else lead + offset
            css = bar.css or (series[i % len(series)].css if series else "bar")
            parts.append(_link(_rect(x, y, w, bar_h, css, bar.tip), bar.href))
            if grouped:
                value_text(w, y, bar.text)
                y += bar_h + 2
            else:
                offset += w
        if not grouped:
            value_text(offset, y, row.text)
            y += bar_h
        y += 7
    head, _uid = _open(y + 4, title, desc, rtl, "hbars")
    return Markup(head + "".join(parts) + "</svg>")


def line(
    points: Sequence[Point],
    *,
    title: str,
    desc: str,
    rtl: bool,
    ticks: Sequence[tuple[float, str]],
    css: str = "line",
) -> Markup:
    """A line over time, left to right, with its y ticks (value, text) as grid lines and each
    point a dot with its tooltip (and link); an x label under every point that has one."""
    height, top, bottom = 190.0, 14.0, 150.0
    left, right = (PAD + 4, WIDTH - 46) if rtl else (46, WIDTH - PAD - 4)
    high = max([p.value for p in points] + [t[0] for t in ticks] + [1])
    parts: list[str] = []

    def y_of(value: float) -> float:
        """The y of a value."""
        return bottom - (bottom - top) * value / high

    for value, text in ticks:
        y = y_of(value)
        parts.append(f'<line x1="{_num(left)}" x2="{_num(right)}" y1="{_num(y)}"'
                     f' y2="{_num(y)}" class="grid"/>')  # fmt: skip
        tx = WIDTH - PAD if rtl else PAD
        parts.append(_text(tx, y + 4, text, anchor="start", size=SMALL, css="tick"))
    step = (right - left) / max(len(points) - 1, 1)
    xs = [left + i * step for i in range(len(points))]
    path = " ".join(f"{_num(x)},{_num(y_of(p.value))}" for x, p in zip(xs, points, strict=True))
    if points:
        parts.append(f'<polyline points="{path}" class={_attr(css)}/>')
    for x, p in zip(xs, points, strict=True):
        dot = (
            f'<circle cx="{_num(x)}" cy="{_num(y_of(p.value))}" r="4" class={_attr(css + " dot")}>'
            f"<title>{escape(p.tip)}</title></circle>"
        )
        parts.append(_link(dot, p.href))
        if p.label:
            parts.append(_text(x, bottom + 18, p.label, anchor="middle", size=SMALL, css="axis"))
    head, _uid = _open(height, title, desc, rtl, "line")
    return Markup(head + "".join(parts) + "</svg>")

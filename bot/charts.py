"""PNG charts for staff reports, drawn off-screen with matplotlib's Agg renderer."""

from __future__ import annotations

import io
from collections.abc import Sequence

import arabic_reshaper
from bidi import get_display
from matplotlib import font_manager, ft2font
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.jalali import format_date
from bot.repo.reports import STATUSES
from bot.reports import Stats, StatusRow, label
from bot.text import localize_digits

__all__ = ["CHART_FONT", "NATIVE_LAYOUT", "chart_font_path", "render_status_chart", "shape"]

#: Bundled with matplotlib; covers Arabic presentation forms, Persian letters and digits.
CHART_FONT = "DejaVu Sans"
_COLOURS: dict[str, str] = {
    "operating": "#2e7d32",
    "problems": "#f9a825",
    "paused": "#78909c",
    "closed": "#c62828",
    "no_answer": "#bdbdbd",
}
_ZWNJ = "\u200c"
#: matplotlib >= 3.11 lays text out with libraqm (HarfBuzz shaping plus the bidi algorithm):
#: it wants logical text, and pre-shaped visual text would come out reversed.
NATIVE_LAYOUT = getattr(ft2font, "__libraqm_version__", None) is not None


def chart_font_path() -> str:
    """The font file used for charts; raises ValueError when it is not installed."""
    props = font_manager.FontProperties(family=CHART_FONT)
    return str(font_manager.findfont(props, fallback_to_default=False))


def shape(text: str, lang: str, *, native_layout: bool = NATIVE_LAYOUT) -> str:
    """Text ready for matplotlib: Persian letters joined and laid out right to left.

    With libraqm (native_layout) matplotlib shapes and orders the logical text itself.
    Older matplotlib draws characters left to right as given, so Persian is reshaped into
    joined presentation forms (arabic_reshaper) and put in visual order (python-bidi).
    """
    if lang != "fa" or native_layout:
        return text
    reshaped = arabic_reshaper.reshape(text)
    # Joining is already decided by the presentation forms; the joiner itself draws nothing.
    return str(get_display(reshaped.replace(_ZWNJ, "")))


def _digits(lang: str) -> FuncFormatter:
    """Axis tick labels as whole numbers, in Persian digits for Persian."""
    return FuncFormatter(lambda value, _pos: localize_digits(f"{value:.0f}", lang))


def _rows(stats: Stats) -> Sequence[StatusRow]:
    """Fields to draw (those with an answer), top of the chart first."""
    return [row for row in stats.status_by_field if row.answered]


def render_status_chart(stats: Stats, lang: str) -> bytes:
    """A stacked horizontal bar per field of latest check-in statuses, as PNG bytes."""
    rows = _rows(stats)
    height = 2.0 + 0.6 * max(len(rows), 1)
    fig = Figure(figsize=(9, height), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    font = {"family": CHART_FONT}
    rtl = lang == "fa"
    names = [shape(row.label.get(lang), lang) for row in rows]
    positions = list(range(len(rows)))
    left = [0] * len(rows)
    for status in STATUSES:
        values = [row.get(status) for row in rows]
        ax.barh(
            positions,
            values,
            left=left,
            color=_COLOURS[status],
            label=shape(label(lang, f"status.{status}"), lang),
            height=0.6,
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(positions, names, fontdict=font)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(_digits(lang))
    for tick in ax.get_xticklabels():
        tick.set_fontfamily(CHART_FONT)
    if rtl:
        ax.invert_xaxis()
        ax.yaxis.tick_right()
    if not rows:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            shape(label(lang, "chart_empty"), lang),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontdict=font,
        )
    else:
        fig.legend(
            loc="outside lower center",
            ncols=len(STATUSES),
            frameon=False,
            prop={"family": CHART_FONT, "size": 9},
            reverse=rtl,
        )
    ax.set_xlabel(shape(label(lang, "chart_axis"), lang), fontdict=font)
    title = f"{label(lang, 'chart_title')} — {format_date(stats.generated_at, lang)}"
    ax.set_title(shape(title, lang), fontdict={**font, "size": 13})
    ax.spines[["top", "left" if rtl else "right"]].set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()

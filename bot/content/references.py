"""Start-up check: a «quoted» name that sends the reader to a button or section must exist.

A text such as "در بخش «تماس»" or "see the “Loans” section" points at something on screen; if
no button, menu entry or step is called that, the reader looks for it in vain. The rule, over
every text of the locale files and of the content file, in each language:

* A quoted span («…» or “…”) is a *reference* when it starts with an emoji or other symbol
  (every button and menu label of the bot does), or when the word just before it is one that
  names a place on screen (fa: بخش، دکمه، گزینه، منو/منوی، صفحه، مرحله — en: section, button,
  menu, option, page, step, press, tap, choose, open; not after "این"/"this": «این مرحله
  «انجام‌نشده» ثبت شد» says what the step is), or when it is followed by one (fa:
  «… را بزنید», «… را انتخاب کنید» — en: “…” section/button/menu/option/page/step), or when
  it is joined to a reference by "یا", "و", "or", "and" or a comma ("مرحله «الف» یا «ب»").
* A reference must be, in the same language, the exact text of a locale entry (page titles
  and short tags aside: a title repeats the label that opens the page, a `…_short` tag only
  appears inside other labels) or of a content name, label, step title or question — or such a
  text without its leading emoji. A span holding a {placeholder} is
  filled in at run time and is not checked.

Ordinary quotes («۳ ساعت دیگر», «پاسخ» (Reply), “in 3 hours”) are none of these and pass.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from bot.content.model import Content, LList, LText
from bot.core.i18n import I18n

__all__ = ["label_problems", "references"]

_QUOTED = re.compile(r"«([^«»\n]+)»|“([^“”\n]+)”")
_FA_PLACES = "بخش بخشِ دکمه دکمهٔ گزینه گزینهٔ منو منوی صفحه صفحهٔ مرحله مرحلهٔ"
_EN_PLACES = "section button menu option page step press tap choose open"
_BEFORE = {
    "fa": frozenset(_FA_PLACES.split()) | {f"{w}\u200cی" for w in ("دکمه", "گزینه", "مرحله")},
    "en": frozenset(_EN_PLACES.split()),
}
_AFTER = {
    "fa": ("را بزنید", "را انتخاب کنید"),
    "en": ("section", "button", "menu", "option", "page", "step"),
}
_PROBLEM = "«{span}» matches no button, menu entry or step (use its exact label)"
# "این مرحله «انجام‌نشده» ثبت شد": this step is «…» — a state, not a place named.
_THIS = frozenset({"این", "همین", "آن", "همان", "this", "that"})
_JOINED = frozenset({"", "یا", "و", "،", ",", "or", "and"})


def _is_symbol(ch: str) -> bool:
    """Whether a character is an emoji or another symbol (labels of the bot start with one)."""
    return unicodedata.category(ch) in ("So", "Sk", "Sm")


def _bare(label: str) -> str:
    """A label without its leading emoji and the space after it."""
    i = 0
    while i < len(label) and (_is_symbol(label[i]) or 0xFE00 <= ord(label[i]) <= 0xFE0F):
        i += 1
    return label[i:].strip() if i else label


def references(text: str, lang: str) -> list[str]:
    """The quoted spans of a text that point at a button, menu entry, section or step."""
    found = []
    last_end = None  # where the previous reference ended
    for match in _QUOTED.finditer(text):
        span = (match.group(1) or match.group(2)).strip()
        if not span or "{" in span:
            continue
        before = text[: match.start()].split()
        after = text[match.end() :].strip().lower()
        joined = last_end is not None and text[last_end : match.start()].strip() in _JOINED
        place = [w.lower().strip("(،,:") for w in before[-2:]]
        pointed = bool(place) and place[-1] in _BEFORE[lang] and place[0] not in _THIS
        if (
            _is_symbol(span[0])
            or pointed
            or after.startswith(_AFTER[lang])
            or joined
        ):
            found.append(span)
            last_end = match.end()
    return found


def _content_texts(node: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """(key path, language, text) for every user-visible text of the content."""
    if isinstance(node, LText):
        yield f"{path}.fa", "fa", node.fa
        yield f"{path}.en", "en", node.en
    elif isinstance(node, LList):
        for lang in ("fa", "en"):
            for i, item in enumerate(getattr(node, lang)):
                yield f"{path}.{lang}[{i}]", lang, item
    elif isinstance(node, tuple):
        for i, item in enumerate(node):
            yield from _content_texts(item, f"{path}[{i}]")
    elif dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            key = f"{path}.{f.name}" if path else f.name
            yield from _content_texts(getattr(node, f.name), key)


def _is_heading(key: str) -> bool:
    """A page title repeats the label that opens the page, and a short tag ("وام" for the loan
    track) only appears inside other labels: neither is a place one can find by that name."""
    last = key.rsplit(".", 1)[-1]
    return last == "title" or last.endswith(("_title", "_short"))


def _labels(content: Content, i18n: I18n, lang: str) -> frozenset[str]:
    """Every name a reference may use in one language, with and without its leading emoji."""
    names = {i18n.t(lang, key) for key in i18n.keys(prefix="") if not _is_heading(key)}
    names |= {text for _, text_lang, text in _content_texts(content, "") if text_lang == lang}
    return frozenset(names | {_bare(name) for name in names})


def label_problems(content: Content, i18n: I18n) -> list[str]:
    """One 'file: key: problem' line per reference that names nothing on screen."""
    labels = {lang: _labels(content, i18n, lang) for lang in ("fa", "en")}
    problems = []
    for lang in ("fa", "en"):
        for key in i18n.keys(prefix=""):
            for span in references(i18n.t(lang, key), lang):
                if span not in labels[lang]:
                    file = i18n.file_of(lang, key)
                    problems.append(f"{file}: {key}: {_PROBLEM.format(span=span)}")
    for key, lang, text in _content_texts(content, ""):
        for span in references(text, lang):
            if span not in labels[lang]:
                problems.append(f"{content.source}: {key}: {_PROBLEM.format(span=span)}")
    return problems

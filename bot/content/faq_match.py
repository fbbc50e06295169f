"""Which FAQ entries a typed question is closest to: shared words after simple normalisation.

No model and no network: both the question and every FAQ entry (its question and answer, in
every language) become sets of words — Persian letters unified (ي/ى→ی, ك→ک, آ/أ/إ→ا, ة/ۀ→ه),
diacritics dropped, lower case, a few common endings cut ("وام‌ها", "وامم" → "وام"; "هزینه‌ای" →
"هزینه"; "loans" → "loan"), half-spaces joined ("کسب‌وکار" = "کسبوکار" = "کسب و کار") and
function words, greetings and thanks left out.
An entry scores 2 for each word of the question found in its question and 1 for each found only
in its answer; entries scoring at least 2 are offered, best first, at most three.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from bot.content.model import FaqItem
from bot.core.text import ZWNJ, normalize_input, to_latin_digits

__all__ = ["MAX_MATCHES", "best_matches", "content_words", "greets", "says_thanks", "words"]

MAX_MATCHES = 3
MIN_SCORE = 2

_LETTERS = str.maketrans(
    {
        "\u064a": "ی",  # Arabic yeh
        "\u0649": "ی",  # alef maksura
        "\u0643": "ک",  # Arabic kaf
        "آ": "ا",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ۀ": "ه",
        "ؤ": "و",
        "ئ": "ی",
        ZWNJ: "",
        "\u200d": "",
        "\u0640": "",  # tatweel
    }
)
# Endings and the verb prefix written after or before a half-space ("وام‌ها", "می‌شود").
_SUFFIX_PARTS = """
ها های هایی هایم هایت هایش هایمان هایتان هایشان ای ام ات اش ایم اید اند ی تر ترین مان تان شان
"""
_FA_SUFFIX_PARTS = frozenset(_SUFFIX_PARTS.split())
_FA_PREFIX_PARTS = frozenset({"می", "نمی"})
# Longest first; cut only when at least three letters stay ("وام" keeps its م).
_FA_ENDINGS = ("هایی", "هایم", "هایت", "هایش", "های", "ترین", "ها", "تر", "ای", "ام", "ات", "اش",
               "ی", "م")  # fmt: skip

_THANKS = """
ممنون ممنونم مرسی سپاس سپاسگزارم سپاسگزاریم متشکرم متشکریم تشکر قربانت قربان دستت درد نکنه نکند
thanks thank thx ty merci
"""
_GREETINGS = """
سلام درود علیک علیکم وقت روز بخیر خیر عصر صبح شب خسته نباشید
hello hi hey salam good morning evening afternoon
"""
# Particles, pronouns, question words, common verbs and politeness, in Persian and English.
_FUNCTION = """
از به با در را رو که و یا تا برای بر این ان اون همین همان من ما شما تو او اونها انها ایشان
است هست هستم هستند هستید نیست بود بودم شد شده شود میشود میشه میشد بشه بشود کنم کنیم کنید
کرد کردم کردن کنه میکنم میکنند داره دارد دارم داریم دارید ندارم چه چی چیه چرا کی کجا کجاست
کدام کدوم چطور چطوری چگونه چقدر چند ایا اگر هم نیز ولی اما باید میخواهم میخوام میخواستم
خواهم خواستم لطفا لطف بفرمایید یک یه هر همه دیگه دیگر خیلی الان اکنون هنوز پس بعد قبل
سوال پرسش بپرسم داشتم چکار چیکار کار
the a an is are was were am i my me we our you your to of for in on at and or can could
do does did how what when where who why which will would be been it its this that these
those with please there have has had not no yes get about any some much many
"""
THANKS = frozenset(_THANKS.split())
GREETINGS = frozenset(_GREETINGS.split())
_FUNCTION_WORDS = frozenset(_FUNCTION.split())
STOP_WORDS = THANKS | GREETINGS | _FUNCTION_WORDS


def _stem(word: str) -> str:
    """Cut one common ending (Persian plural/possessive/adjective, English plural)."""
    if word.isascii():
        plural = len(word) > 3 and word.endswith("s") and not word.endswith("ss")
        return word[:-1] if plural else word
    if word.endswith("های") and word[-4:-3] == "ه":  # "هزینهای": ه + ای, not + های
        return word[:-2]
    for ending in _FA_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _unhalf(word: str) -> str:
    """A word written with half-spaces, its endings and verb prefix dropped, the rest joined."""
    parts = word.split(ZWNJ)
    while len(parts) > 1 and parts[-1] in _FA_SUFFIX_PARTS:
        parts.pop()
    if len(parts) > 1 and parts[0] in _FA_PREFIX_PARTS:
        parts.pop(0)
    return "".join(parts)


def _tokens(text: str) -> list[str]:
    """Lower-case words of a text, letters unified, diacritics and punctuation gone.

    Two words joined by «و» also count as the compound they spell: "کسب و کار" = "کسب‌وکار".
    """
    text = " ".join(_unhalf(w) for w in to_latin_digits(normalize_input(text)).lower().split())
    text = text.translate(_LETTERS)
    kept = "".join(
        ch if ch.isalnum() else " "
        for ch in unicodedata.normalize("NFD", text)
        if unicodedata.category(ch) != "Mn"
    )
    tokens = kept.split()
    compounds = [
        f"{tokens[i - 1]}و{tokens[i + 1]}"
        for i in range(1, len(tokens) - 1)
        if tokens[i] == "و"
    ]
    return tokens + compounds


def words(text: str) -> frozenset[str]:
    """Every word of a text, normalised and stemmed (function words included)."""
    return frozenset(_stem(token) for token in _tokens(text))


def content_words(text: str) -> frozenset[str]:
    """The words that carry meaning: no function words, greetings, thanks or bare numbers."""
    out = set()
    for token in _tokens(text):
        stem = _stem(token)
        if token in STOP_WORDS or stem in STOP_WORDS:
            continue
        if sum(ch.isalpha() for ch in stem) < 2:
            continue
        out.add(stem)
    return frozenset(out)


def says_thanks(text: str) -> bool:
    """Whether a text thanks us ("ممنون", "مرسی", "thanks")."""
    return any(token in THANKS for token in _tokens(text))


def greets(text: str) -> bool:
    """Whether a text greets us ("سلام", "hello")."""
    return any(token in GREETINGS for token in _tokens(text))


@lru_cache(maxsize=8)
def _index(faq: tuple[FaqItem, ...]) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """Each entry's question words and answer words, over every language (built once)."""
    return tuple(
        (
            content_words(f"{item.q.fa} {item.q.en}"),
            content_words(f"{item.a.fa} {item.a.en}"),
        )
        for item in faq
    )


def _score(query: Iterable[str], question: frozenset[str], answer: frozenset[str]) -> int:
    """2 per query word in the entry's question, 1 per word found only in its answer."""
    return sum(2 if w in question else 1 if w in answer else 0 for w in query)


def best_matches(faq: Sequence[FaqItem], text: str, limit: int = MAX_MATCHES) -> list[FaqItem]:
    """The FAQ entries closest to a typed question, best first (ties keep the file's order)."""
    query = content_words(text)
    if not query:
        return []
    items = tuple(faq)
    scored = [
        (score, i)
        for i, (question, answer) in enumerate(_index(items))
        if (score := _score(query, question, answer)) >= MIN_SCORE
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [items[i] for _, i in scored[:limit]]

"""Read locales/content.yaml with line numbers, validate every section, build the Content."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import time
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

from bot.content.model import (
    ID_PATTERN,
    MILESTONES,
    OUTCOMES,
    STEP_FILLS,
    TRACK_MILESTONES,
    TRACKS,
    WEEKDAYS,
    Answer,
    CheckinContent,
    Choice,
    Contact,
    Content,
    ContentError,
    County,
    Eligibility,
    EligibilityTexts,
    FaqItem,
    Field,
    LList,
    Loans,
    LText,
    Portal,
    Programme,
    Question,
    ScheduleSettings,
    Step,
)
from bot.core.text import ROW_WIDTH, label_width
from bot.core.yaml_errors import describe_yaml_error

_MISSING: Any = object()
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TZ_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
_KNOWN_LANGUAGES = ("fa", "en")
_B = TypeVar("_B")

# --------------------------------------------------------------------------- YAML with lines


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers its line."""

    line: int = 0


class _Seq(list[Any]):
    """A YAML sequence that remembers its line."""

    line: int = 0


class _Loader(yaml.SafeLoader):
    """A safe loader that records lines and rejects duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Map]:
    """Build a _Map, refusing a key written twice in the same mapping."""
    data = _Map()
    data.line = node.start_mark.line + 1
    yield data
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str) and key in seen:
            raise ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"the key {key!r} is written twice",
                key_node.start_mark,
            )
        if isinstance(key, str):
            seen.add(key)
    data.update(loader.construct_mapping(node, deep=True))


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[_Seq]:
    """Build a _Seq."""
    data = _Seq()
    data.line = node.start_mark.line + 1
    yield data
    data.extend(loader.construct_sequence(node, deep=True))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


# --------------------------------------------------------------------------- reading


def _describe(value: Any) -> str:
    """A short description of an unexpected YAML value."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML reads yes/no/on/off as true/false; use quotes)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class _Reader:
    """Walks the parsed YAML, building dataclasses and collecting every problem."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        """Start with no problems; languages are those every text must have."""
        self.languages = languages
        self.problems: list[str] = []

    def problem(self, key: str, message: str, where: Any = None) -> None:
        """Record one problem at key, with the line of where when known."""
        line = getattr(where, "line", 0)
        suffix = f" (line {line})" if line else ""
        self.problems.append(f"{key}: {message}{suffix}" if key else f"{message}{suffix}")

    def mapping(
        self, value: Any, key: str, required: Sequence[str], optional: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """A mapping with these keys; missing required and unknown keys are problems."""
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.problem(key, f"expected a mapping, found {_describe(value)}", value)
            return None
        allowed = (*required, *optional)
        for name in value:
            if name not in allowed:
                shown = ", ".join(allowed)
                self.problem(
                    _join(key, str(name)),
                    f"no screen shows a field called {name!r}, so editing it would change"
                    f" nothing; remove it or correct its name (the fields here: {shown})",
                    value,
                )
        for name in required:
            if name not in value:
                self.problem(_join(key, name), "missing", value)
        return {name: value.get(name, _MISSING) for name in allowed}

    def sequence(self, value: Any, key: str, *, non_empty: bool = False) -> list[Any]:
        """A list (empty when missing or wrong, after recording the problem)."""
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.problem(key, f"expected a list, found {_describe(value)}", value)
            return []
        if non_empty and not value:
            self.problem(key, "must not be empty", value)
        return value

    def string(self, value: Any, key: str, where: Any = None) -> str:
        """A non-empty plain string, stripped."""
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.problem(key, f"expected text, found {_describe(value)}", where)
            return ""
        if not value.strip():
            self.problem(key, "empty text", where)
        return value.strip()

    def ident(self, value: Any, key: str, where: Any = None) -> str:
        """An id matching ID_PATTERN."""
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.problem(key, f"expected an id, found {_describe(value)}", where)
            return ""
        if not ID_PATTERN.match(value):
            self.problem(
                key,
                f"bad id {value!r}: use a-z, 0-9 and _, start with a letter, at most 20 characters",
                where,
            )
        return value

    def _language_keys(self, value: dict[str, Any], key: str) -> None:
        """Report language keys that are neither fa nor en."""
        for lang in value:
            if lang not in _KNOWN_LANGUAGES:
                self.problem(key, f"unknown language {lang!r} (expected fa or en)", value)

    def _language_text(self, value: dict[str, Any], lang: str, key: str) -> str:
        """One language of an LText: required languages must be present and non-empty."""
        if lang not in value:
            if lang in self.languages:
                self.problem(key, f"missing language {lang!r}", value)
            return ""
        text = value[lang]
        if not isinstance(text, str):
            self.problem(key, f"{lang!r} must be text, found {_describe(text)}", value)
            return ""
        text = text.strip()
        if not text and lang in self.languages:
            self.problem(key, f"empty text in language {lang!r}", value)
        return text.translate(_ARABIC_TO_PERSIAN) if lang == "fa" else text

    def ltext(self, value: Any, key: str, fills: frozenset[str] = frozenset()) -> LText:
        """An LText {fa, en}; fills are the {placeholders} its screen fills in (none by default)."""
        if value is _MISSING:
            return LText("", "")
        if not isinstance(value, dict):
            self.problem(key, f"expected {{fa: ..., en: ...}}, found {_describe(value)}", value)
            return LText("", "")
        self._language_keys(value, key)
        text = LText(
            fa=self._language_text(value, "fa", key), en=self._language_text(value, "en", key)
        )
        self.same_placeholders(text.fa, text.en, key, value)
        in_fa, in_en = set(_PLACEHOLDER_RE.findall(text.fa)), set(_PLACEHOLDER_RE.findall(text.en))
        written = in_fa & in_en if text.fa and text.en else in_fa | in_en  # one language: said
        for name in sorted(written - fills):
            filled = ", ".join(f"{{{n}}}" for n in sorted(fills)) or "nothing"
            self.problem(
                key, f"{{{name}}} would be shown as it is (this text fills in {filled})", value
            )
        return text

    def label(self, value: Any, key: str) -> LText:
        """An LText shown on a button: in each language it must fit a row on a narrow phone."""
        text = self.ltext(value, key)
        for lang, shown, quoted in (("fa", text.fa, "«{}»"), ("en", text.en, "“{}”")):
            width = label_width(shown)
            if width > ROW_WIDTH:
                self.problem(
                    f"{key}.{lang}",
                    f"the button label {quoted.format(shown)} has {width} characters; a phone"
                    f" cuts a button wider than {ROW_WIDTH}: shorten it",
                    value,
                )
        return text

    def same_placeholders(self, fa: str, en: str, key: str, where: Any) -> None:
        """A {placeholder} written in one language must be written in the other too."""
        if not fa or not en:
            return
        in_fa, in_en = set(_PLACEHOLDER_RE.findall(fa)), set(_PLACEHOLDER_RE.findall(en))
        for name in sorted(in_fa ^ in_en):
            has, lacks = ("fa", "en") if name in in_fa else ("en", "fa")
            self.problem(key, f"{{{name}}} is in {has!r} but not in {lacks!r}", where)

    def optional_ltext(self, value: Any, key: str) -> LText | None:
        """An LText, or None when the key is absent."""
        return None if value is _MISSING or value is None else self.ltext(value, key)

    def _language_list(self, value: dict[str, Any], lang: str, key: str) -> tuple[str, ...]:
        """One language of an LList."""
        if lang not in value:
            if lang in self.languages:
                self.problem(key, f"missing language {lang!r}", value)
            return ()
        items = value[lang]
        if not isinstance(items, list):
            self.problem(key, f"{lang!r} must be a list, found {_describe(items)}", value)
            return ()
        out: list[str] = []
        for i, item in enumerate(items):
            text = self.string(item, f"{key}.{lang}[{i}]", items)
            out.append(text.translate(_ARABIC_TO_PERSIAN) if lang == "fa" else text)
        return tuple(out)

    def llist(self, value: Any, key: str) -> LList:
        """An LList {fa: [..], en: [..]} with the same length in every language."""
        if value is _MISSING:
            return LList((), ())
        if not isinstance(value, dict):
            self.problem(key, f"expected {{fa: [...], en: [...]}}, found {_describe(value)}", value)
            return LList((), ())
        self._language_keys(value, key)
        fa = self._language_list(value, "fa", key)
        en = self._language_list(value, "en", key)
        if "fa" in value and "en" in value and len(fa) != len(en):
            self.problem(key, f"'fa' has {len(fa)} items but 'en' has {len(en)}", value)
        else:
            for i, (fa_item, en_item) in enumerate(zip(fa, en, strict=False)):
                self.same_placeholders(fa_item, en_item, f"{key}[{i}]", value)
        return LList(fa, en)

    def integer(self, value: Any, key: str, minimum: int, where: Any = None) -> int:
        """A whole number >= minimum."""
        if value is _MISSING:
            return minimum
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"expected a whole number, found {_describe(value)}", where)
            return minimum
        if value < minimum:
            self.problem(key, f"must be at least {minimum}, found {value}", where)
            return minimum
        return value

    def clock_time(self, value: Any, key: str, where: Any) -> time | None:
        """A local time written "HH:MM"."""
        if value is _MISSING:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            self.problem(key, 'write the time in quotes, like "20:00"', where)
            return None
        match = _TIME_RE.match(value) if isinstance(value, str) else None
        if match is None:
            self.problem(key, f'expected a time like "09:00", found {_describe(value)}', where)
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def items(
        self,
        value: Any,
        key: str,
        build: Callable[[dict[str, Any], str, Any], _B | None],
        required: Sequence[str],
        optional: Sequence[str] = (),
        *,
        non_empty: bool = True,
    ) -> tuple[_B, ...]:
        """A list of mappings with unique ids, each built by build(fields, key, raw)."""
        out: list[_B] = []
        seen: set[str] = set()
        for i, raw in enumerate(self.sequence(value, key, non_empty=non_empty)):
            item_key = f"{key}[{i}]"
            fields = self.mapping(raw, item_key, ("id", *required), optional)
            if fields is None:
                continue
            item_id = self.ident(fields["id"], f"{item_key}.id", raw)
            if item_id and item_id in seen:
                self.problem(f"{item_key}.id", f"duplicate id {item_id!r}", raw)
            seen.add(item_id)
            built = build(fields, item_key, raw)
            if built is not None:
                out.append(built)
        return tuple(out)


def _join(key: str, name: str) -> str:
    """A child key path."""
    return f"{key}.{name}" if key else name


# --------------------------------------------------------------------------- sections


def _programme(r: _Reader, value: Any) -> Programme:
    """The programme section."""
    m = r.mapping(value, "programme", ("name", "secretariat")) or {}
    return Programme(
        name=r.ltext(m.get("name", _MISSING), "programme.name"),
        secretariat=r.ltext(m.get("secretariat", _MISSING), "programme.secretariat"),
    )


def _contact(r: _Reader, value: Any) -> Contact:
    """The contact section."""
    m = r.mapping(value, "contact", ("office", "phone", "followup"), ("hours", "note")) or {}
    return Contact(
        office=r.ltext(m.get("office", _MISSING), "contact.office"),
        phone=r.string(m.get("phone", _MISSING), "contact.phone", value),
        followup=r.ltext(m.get("followup", _MISSING), "contact.followup"),
        hours=r.optional_ltext(m.get("hours", _MISSING), "contact.hours"),
        note=r.optional_ltext(m.get("note", _MISSING), "contact.note"),
    )


def _portals(r: _Reader, value: Any) -> tuple[Portal, ...]:
    """The portals section."""

    def build(m: dict[str, Any], key: str, raw: Any) -> Portal:
        """One portal."""
        url = r.string(m["url"], f"{key}.url", raw)
        if url and not url.startswith(("https://", "http://")):
            r.problem(f"{key}.url", f"expected an address starting https://, found {url!r}", raw)
        return Portal(
            id=_id(m),
            name=r.ltext(m["name"], f"{key}.name"),
            url=url,
            note=r.optional_ltext(m["note"], f"{key}.note"),
        )

    return r.items(value, "portals", build, ("name", "url"), ("note",), non_empty=False)


def _counties(r: _Reader, value: Any) -> tuple[County, ...]:
    """The counties section."""

    def build(m: dict[str, Any], key: str, raw: Any) -> County:
        """One county."""
        return County(id=_id(m), name=r.label(m["name"], f"{key}.name"))

    return r.items(value, "counties", build, ("name",))


def _id(m: Mapping[str, Any]) -> str:
    """The (already checked) id of an item, or '' when it was not text."""
    value = m["id"]
    return value if isinstance(value, str) else ""


def _id_list(r: _Reader, value: Any, key: str) -> tuple[str, ...]:
    """A list of ids (empty when absent)."""
    return tuple(r.ident(v, f"{key}[{i}]", value) for i, v in enumerate(r.sequence(value, key)))


def _fields(r: _Reader, value: Any) -> tuple[Field, ...]:
    """The fields section."""

    def build(m: dict[str, Any], key: str, raw: Any) -> Field:
        """One business field."""
        return Field(
            id=_id(m),
            name=r.label(m["name"], f"{key}.name"),
            agency=r.ltext(m["agency"], f"{key}.agency"),
            extra_steps=_id_list(r, m["extra_steps"], f"{key}.extra_steps"),
            note=r.optional_ltext(m["note"], f"{key}.note"),
        )

    return r.items(value, "fields", build, ("name", "agency"), ("extra_steps", "note"))


def _steps(r: _Reader, value: Any) -> tuple[Step, ...]:
    """The steps section."""

    def build(m: dict[str, Any], key: str, raw: Any) -> Step:
        """One step."""
        milestone = m["milestone"]
        if milestone is _MISSING or milestone is None:
            milestone = None
        elif milestone not in MILESTONES:
            r.problem(
                f"{key}.milestone",
                f"unknown milestone {_describe(milestone)} (expected {' or '.join(MILESTONES)})",
                raw,
            )
            milestone = None
        track = m["track"]
        if track is not _MISSING and track not in TRACKS:
            r.problem(
                f"{key}.track",
                f"unknown track {_describe(track)} (expected {' or '.join(TRACKS)})",
                raw,
            )
        return Step(
            id=_id(m),
            title=r.ltext(m["title"], f"{key}.title"),
            what=r.ltext(m["what"], f"{key}.what", STEP_FILLS),
            where=r.ltext(m["where"], f"{key}.where", STEP_FILLS),
            documents=r.llist(m["documents"], f"{key}.documents"),
            duration=r.ltext(m["duration"], f"{key}.duration"),
            help=r.ltext(m["help"], f"{key}.help"),
            only_for=_id_list(r, m["only_for"], f"{key}.only_for"),
            milestone=milestone,
            track=track if track in TRACKS else TRACKS[0],
        )

    required = ("title", "what", "where", "documents", "duration", "help", "track")
    return r.items(value, "steps", build, required, ("only_for", "milestone"))


def _answers(r: _Reader, value: Any, key: str) -> tuple[Answer, ...]:
    """A question's answers."""

    def build(m: dict[str, Any], akey: str, raw: Any) -> Answer:
        """One answer."""
        outcome = m["outcome"]
        if outcome is not _MISSING and outcome not in OUTCOMES:
            r.problem(
                f"{akey}.outcome",
                f"unknown outcome {_describe(outcome)} (expected pass, fail or warn)",
                raw,
            )
        reason = r.optional_ltext(m["reason"], f"{akey}.reason")
        if outcome in ("fail", "warn") and reason is None:
            r.problem(f"{akey}.reason", f"missing: a {outcome} answer needs a reason", raw)
        return Answer(
            id=_id(m),
            label=r.label(m["label"], f"{akey}.label"),
            outcome=outcome if isinstance(outcome, str) else "",
            reason=reason,
        )

    answers = r.items(value, key, build, ("label", "outcome"), ("reason",), non_empty=False)
    if isinstance(value, list) and len(value) < 2:
        r.problem(key, f"a question needs at least 2 answers, found {len(value)}", value)
    ids = [a.id for a in answers]
    if "yes" in ids and "no" in ids and ids.index("no") < ids.index("yes"):
        r.problem(
            key,
            'put the "yes" answer before the "no" answer, as in every other question'
            " (people tap by where the button is)",
            value,
        )
    return answers


def _eligibility(r: _Reader, value: Any) -> Eligibility:
    """The eligibility section."""
    m = r.mapping(value, "eligibility", ("intro", "questions", "result")) or {}

    def build(q: dict[str, Any], key: str, raw: Any) -> Question:
        """One question."""
        return Question(
            id=_id(q),
            text=r.ltext(q["text"], f"{key}.text"),
            answers=_answers(r, q["answers"], f"{key}.answers"),
        )

    questions = r.items(
        m.get("questions", _MISSING), "eligibility.questions", build, ("text", "answers")
    )
    names = ("eligible", "not_eligible", "with_warnings", "next_eligible", "next_not_eligible")
    res = r.mapping(m.get("result", _MISSING), "eligibility.result", names) or {}
    texts = {n: r.ltext(res.get(n, _MISSING), f"eligibility.result.{n}") for n in names}
    return Eligibility(
        intro=r.ltext(m.get("intro", _MISSING), "eligibility.intro"),
        questions=questions,
        result=EligibilityTexts(**texts),
    )


def _loans(r: _Reader, value: Any) -> Loans:
    """The loans section."""
    m = r.mapping(value, "loans", ("intro", "facts", "steps", "exclusions")) or {}
    return Loans(
        intro=r.ltext(m.get("intro", _MISSING), "loans.intro"),
        facts=r.llist(m.get("facts", _MISSING), "loans.facts"),
        steps=r.llist(m.get("steps", _MISSING), "loans.steps"),
        exclusions=r.llist(m.get("exclusions", _MISSING), "loans.exclusions"),
    )


def _faq(r: _Reader, value: Any) -> tuple[FaqItem, ...]:
    """The FAQ section."""

    def build(m: dict[str, Any], key: str, raw: Any) -> FaqItem:
        """One FAQ entry."""
        return FaqItem(id=_id(m), q=r.label(m["q"], f"{key}.q"), a=r.ltext(m["a"], f"{key}.a"))

    return r.items(value, "faq", build, ("q", "a"), non_empty=False)


def _choices(r: _Reader, value: Any, key: str, *, with_help: bool) -> tuple[Choice, ...]:
    """A list of check-in choices; problems carry help."""

    def build(m: dict[str, Any], ckey: str, raw: Any) -> Choice:
        """One choice."""
        help_text = r.ltext(m["help"], f"{ckey}.help") if with_help else None
        return Choice(id=_id(m), label=r.label(m["label"], f"{ckey}.label"), help=help_text)

    return r.items(value, key, build, ("label", "help") if with_help else ("label",))


def _checkin(r: _Reader, value: Any) -> CheckinContent:
    """The checkin section."""
    lists = ("problems", "sales_bands", "pause_reasons", "closed_reasons")
    m = r.mapping(value, "checkin", (*lists, "closed_help", "paused_help")) or {}
    return CheckinContent(
        problems=_choices(r, m.get("problems", _MISSING), "checkin.problems", with_help=True),
        sales_bands=_choices(
            r, m.get("sales_bands", _MISSING), "checkin.sales_bands", with_help=False
        ),
        pause_reasons=_choices(
            r, m.get("pause_reasons", _MISSING), "checkin.pause_reasons", with_help=False
        ),
        closed_reasons=_choices(
            r, m.get("closed_reasons", _MISSING), "checkin.closed_reasons", with_help=False
        ),
        closed_help=r.ltext(m.get("closed_help", _MISSING), "checkin.closed_help"),
        paused_help=r.ltext(m.get("paused_help", _MISSING), "checkin.paused_help"),
    )


_SCHEDULE_MINIMUMS = {
    "first_checkin_days": 0,
    "checkin_every_days": 1,
    "no_answer_after_days": 1,
    "nudge_after_days": 1,
    "nudge_max": 0,
}


def _schedule(r: _Reader, value: Any) -> ScheduleSettings:
    """The schedule section, checked so the schedule maths always terminates."""
    names = (*_SCHEDULE_MINIMUMS, "reminder_days", "quiet_start", "quiet_end")
    m = r.mapping(value, "schedule", (*names, "quiet_weekdays", "timezone")) or {}
    ints = {
        n: r.integer(m.get(n, _MISSING), f"schedule.{n}", low, value)
        for n, low in _SCHEDULE_MINIMUMS.items()
    }
    raw_reminders = m.get("reminder_days", _MISSING)
    reminders = tuple(
        r.integer(v, f"schedule.reminder_days[{i}]", 1, raw_reminders)
        for i, v in enumerate(r.sequence(raw_reminders, "schedule.reminder_days"))
    )
    if list(reminders) != sorted(set(reminders)):
        r.problem("schedule.reminder_days", "must be increasing, without repeats", raw_reminders)
    if reminders and reminders[-1] >= ints["no_answer_after_days"]:
        r.problem(
            "schedule.no_answer_after_days",
            f"must be more than the last reminder day ({reminders[-1]})",
            value,
        )
    start = r.clock_time(m.get("quiet_start", _MISSING), "schedule.quiet_start", value)
    end = r.clock_time(m.get("quiet_end", _MISSING), "schedule.quiet_end", value)
    if start is not None and end is not None and start >= end:
        r.problem("schedule.quiet_start", "must be earlier than quiet_end (same day)", value)
    raw_days = m.get("quiet_weekdays", _MISSING)
    days: set[int] = set()
    for i, name in enumerate(r.sequence(raw_days, "schedule.quiet_weekdays")):
        number = WEEKDAYS.get(name.strip().lower()) if isinstance(name, str) else None
        if number is None:
            r.problem(
                f"schedule.quiet_weekdays[{i}]",
                f"unknown weekday {_describe(name)} (expected monday … sunday)",
                raw_days,
            )
        else:
            days.add(number)
    if len(days) == len(WEEKDAYS):
        r.problem("schedule.quiet_weekdays", "must leave at least one day for sending", raw_days)
    tz = r.string(m.get("timezone", _MISSING), "schedule.timezone", value)
    if tz and not _TZ_RE.match(tz):
        r.problem(
            "schedule.timezone", f"expected a zone name like Asia/Tehran, found {tz!r}", value
        )
    return ScheduleSettings(
        first_checkin_days=ints["first_checkin_days"],
        checkin_every_days=ints["checkin_every_days"],
        reminder_days=reminders,
        no_answer_after_days=ints["no_answer_after_days"],
        quiet_start=start or time(9, 0),
        quiet_end=end or time(20, 0),
        quiet_weekdays=frozenset(days),
        nudge_after_days=ints["nudge_after_days"],
        nudge_max=ints["nudge_max"],
        timezone=tz,
    )


# --------------------------------------------------------------------------- cross-checks


def _check_links(r: _Reader, fields: Sequence[Field], steps: Sequence[Step]) -> None:
    """Fields' extra_steps and steps' only_for must name each other; milestones appear once."""
    field_index = {f.id: i for i, f in enumerate(fields)}
    step_index = {s.id: i for i, s in enumerate(steps)}
    for i, f in enumerate(fields):
        for j, step_id in enumerate(f.extra_steps):
            key = f"fields[{i}].extra_steps[{j}]"
            target = steps[step_index[step_id]] if step_id in step_index else None
            if target is None:
                r.problem(key, f"unknown step {step_id!r}")
            elif f.id not in target.only_for:
                r.problem(
                    key,
                    f"step {step_id!r} must list {f.id!r} in its only_for"
                    f" (steps[{step_index[step_id]}].only_for)",
                )
    for i, s in enumerate(steps):
        for j, field_id in enumerate(s.only_for):
            key = f"steps[{i}].only_for[{j}]"
            owner = fields[field_index[field_id]] if field_id in field_index else None
            if owner is None:
                r.problem(key, f"unknown field {field_id!r}")
            elif s.id not in owner.extra_steps:
                r.problem(
                    key,
                    f"field {field_id!r} must list {s.id!r} in its extra_steps"
                    f" (fields[{field_index[field_id]}].extra_steps)",
                )
    for milestone in MILESTONES:
        marked = [i for i, s in enumerate(steps) if s.milestone == milestone]
        if len(marked) != 1:
            found = len(marked)
            r.problem("steps", f"exactly one step must have milestone {milestone!r}, found {found}")
        for i in marked:
            if steps[i].only_for:
                r.problem(
                    f"steps[{i}].milestone", "a milestone step must be for everyone, no only_for"
                )
    _check_tracks(r, steps)


def _check_tracks(r: _Reader, steps: Sequence[Step]) -> None:
    """The permit steps come first, then the loan steps; each track ends with its milestone."""
    first_loan = next((i for i, s in enumerate(steps) if s.track == "loan"), len(steps))
    for i, s in enumerate(steps[first_loan:], first_loan):
        if s.track != "loan":
            r.problem(f"steps[{i}].track", "the permit steps must all come before the loan steps")
    for track, milestone in TRACK_MILESTONES.items():
        members = [i for i, s in enumerate(steps) if s.track == track]
        if not members:
            r.problem("steps", f"no step has track {track!r}")
            continue
        last = steps[members[-1]]
        if last.milestone != milestone:
            r.problem(
                f"steps[{members[-1]}]",
                f"the last {track} step must be the one with milestone {milestone!r}",
            )


# --------------------------------------------------------------------------- entry point

_SECTIONS = (
    "programme",
    "contact",
    "portals",
    "counties",
    "fields",
    "steps",
    "eligibility",
    "loans",
    "faq",
    "checkin",
    "schedule",
)


def read_content(path: Path, languages: tuple[str, ...] = ("fa", "en")) -> Content:
    """Read and validate the content file; raise ContentError listing every problem found."""
    unknown = [lang for lang in languages if lang not in _KNOWN_LANGUAGES]
    if unknown or "fa" not in languages:
        raise ValueError(f"languages must include 'fa', among {_KNOWN_LANGUAGES}: {languages}")
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise ContentError(source, [problem]) from exc
    except OSError as exc:
        raise ContentError(source, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ContentError(source, [describe_yaml_error(exc)]) from exc
    r = _Reader(tuple(languages))
    top = r.mapping(data if data is not None else {}, "", _SECTIONS)
    if top is None:
        raise ContentError(source, r.problems)
    content = Content(
        programme=_programme(r, top["programme"]),
        contact=_contact(r, top["contact"]),
        portals=_portals(r, top["portals"]),
        counties=_counties(r, top["counties"]),
        fields=_fields(r, top["fields"]),
        steps=_steps(r, top["steps"]),
        eligibility=_eligibility(r, top["eligibility"]),
        loans=_loans(r, top["loans"]),
        faq=_faq(r, top["faq"]),
        checkin=_checkin(r, top["checkin"]),
        schedule=_schedule(r, top["schedule"]),
        source=source,
    )
    _check_links(r, content.fields, content.steps)
    if r.problems:
        raise ContentError(source, r.problems)
    return content


def default_content_path() -> Path:
    """The repository's locales/content.yaml (callers may override it from HOMEBIZ_CONTENT)."""
    return Path(__file__).resolve().parents[2] / "locales" / "content.yaml"


def load_content(path: Path, languages: tuple[str, ...] = ("fa", "en")) -> Content:
    """Read and validate the content file; raise ContentError listing every problem found."""
    return read_content(path, languages)

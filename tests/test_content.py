"""The shipped programme content and the loader that validates it."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content.loader import default_content_path, load_content
from bot.content.model import ID_PATTERN, Content, ContentError, LList, LText
from bot.core.text import label_width

REPO = Path(__file__).resolve().parent.parent
CONTENT_PATH = REPO / "locales" / "content.yaml"
# Callback data the handlers build around ids (Telegram and Bale allow 64 bytes).
CALLBACK_PREFIXES = ("st:done:", "st:undo:", "st:help:", "st:show:", "faq:", "ci:problem:")


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped content, loaded once."""
    return load_content(CONTENT_PATH)


def _raw() -> dict[str, Any]:
    """A fresh, mutable parse of the shipped file."""
    data = yaml.safe_load(CONTENT_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _texts(value: Any, path: str = "content") -> Iterator[tuple[str, LText | LList]]:
    """Every LText and LList inside a content value, with where it is."""
    if isinstance(value, LText | LList):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _texts(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _texts(item, f"{path}[{i}]")


def _all_ids(c: Content) -> Iterator[tuple[str, str]]:
    """Every id in the content, with the list it belongs to."""
    groups: dict[str, tuple[Any, ...]] = {
        "portals": c.portals,
        "counties": c.counties,
        "fields": c.fields,
        "steps": c.steps,
        "questions": c.eligibility.questions,
        "faq": c.faq,
        "problems": c.checkin.problems,
        "sales_bands": c.checkin.sales_bands,
        "pause_reasons": c.checkin.pause_reasons,
        "closed_reasons": c.checkin.closed_reasons,
    }
    for name, items in groups.items():
        for item in items:
            yield name, item.id
    for q in c.eligibility.questions:
        for a in q.answers:
            yield f"answers of {q.id}", a.id


# --------------------------------------------------------------------------- shipped content


def test_default_path_is_the_repository_file() -> None:
    """default_content_path() is this repository's locales/content.yaml."""
    assert default_content_path() == CONTENT_PATH
    assert CONTENT_PATH.is_file()


def test_shipped_content_loads(content: Content) -> None:
    """The shipped file is valid and has every section filled."""
    assert content.source == str(CONTENT_PATH)
    assert content.programme.name.fa and content.contact.phone == "021-66747747"
    assert [c.id for c in content.counties] == [
        "karaj",
        "fardis",
        "nazarabad",
        "savojbolagh",
        "eshtehard",
        "taleqan",
        "chaharbagh",
    ]
    assert {"smkh", "mojavez"} <= {p.id for p in content.portals}
    assert all(p.url.startswith("https://") for p in content.portals)
    assert 6 <= len(content.fields) <= 10
    assert 5 <= len(content.faq) <= 8
    assert {p.id for p in content.checkin.problems} >= {
        "sales_market",
        "raw_materials",
        "financing",
        "skills",
        "permits",
        "other",
    }
    assert all(p.help is not None for p in content.checkin.problems)
    assert content.loans.facts and content.loans.steps and content.loans.exclusions


def test_every_text_has_persian_and_english(content: Content) -> None:
    """No LText lacks a language; LLists have equal, non-empty items."""
    found = list(_texts(content))
    assert len(found) > 100
    for path, text in found:
        if isinstance(text, LText):
            assert text.fa.strip(), path
            assert text.en.strip(), path
        else:
            assert len(text.fa) == len(text.en), path
            assert all(item.strip() for item in (*text.fa, *text.en)), path


def test_persian_texts_follow_conventions(content: Content) -> None:
    """Persian ی/ک in the file, Persian digits in Persian text, no Persian in English text."""
    raw = CONTENT_PATH.read_text(encoding="utf-8")
    assert not re.search("[يك]", raw), "Arabic ي/ك in the file"
    for path, text in _texts(content):
        fa_items = [text.fa] if isinstance(text, LText) else list(text.fa)
        en_items = [text.en] if isinstance(text, LText) else list(text.en)
        for item in fa_items:
            assert not re.search(r"[0-9]", item), f"{path}: Latin digits in Persian text"
            assert re.search("[\u0600-\u06ff]", item), f"{path}: no Persian in Persian text"
        for item in en_items:
            assert not re.search("[\u0600-\u06ff]", item), f"{path}: Persian in English text"


def test_ids_fit_button_data(content: Content) -> None:
    """Every id is short and plain, unique in its list, and fits in callback data."""
    seen: dict[str, set[str]] = {}
    for group, item_id in _all_ids(content):
        assert ID_PATTERN.fullmatch(item_id), (group, item_id)
        assert item_id not in seen.setdefault(group, set()), (group, item_id)
        seen[group].add(item_id)
        for prefix in CALLBACK_PREFIXES:
            assert len(f"{prefix}{item_id}".encode()) <= 64
    for q in content.eligibility.questions:
        for a in q.answers:
            assert len(f"el:{q.id}:{a.id}".encode()) <= 64


def test_food_gets_its_extra_steps_and_handicrafts_does_not(content: Content) -> None:
    """Extra steps appear only for the fields that need them, in file order."""
    food = [s.id for s in content.steps_for("food")]
    crafts = [s.id for s in content.steps_for("handicrafts")]
    assert {"agri_approval", "health_licence"} <= set(food)
    assert not {"agri_approval", "health_licence", "vet_approval"} & set(crafts)
    assert "vet_approval" in [s.id for s in content.steps_for("agri_livestock")]
    assert set(crafts) < set(food)
    order = [s.id for s in content.steps]
    assert food == [i for i in order if i in food]
    assert [s.id for s in content.steps_for(None)] == crafts
    assert [s.id for s in content.steps_for("no_such_field")] == crafts


@pytest.mark.parametrize(
    "field_id",
    [
        "handicrafts",
        "textiles_clothing",
        "food",
        "agri_livestock",
        "culture_arts",
        "digital_services",
        "services",
        "other",
    ],
)
def test_each_field_has_a_sensible_path(content: Content, field_id: str) -> None:
    """Each field's path holds its extra steps and both milestones, permit before loan."""
    field = content.field(field_id)
    assert field is not None
    steps = [s.id for s in content.steps_for(field_id)]
    assert set(field.extra_steps) <= set(steps)
    assert 6 <= len(steps) - len(field.extra_steps) <= 10
    assert len(steps) <= 12
    assert steps.index("permit_issued") < steps.index("loan_received")
    assert (field.note is not None) == bool(field.extra_steps)


def test_every_field_has_a_permit_track_then_a_loan_track(content: Content) -> None:
    """Permit steps first, ending with the permit; loan steps after, ending with the loan."""
    for field in content.fields:
        steps = content.steps_for(field.id)
        permit = content.track_steps(field.id, "permit")
        loan = content.track_steps(field.id, "loan")
        assert steps == permit + loan and permit and loan
        assert (permit[-1].milestone, loan[-1].milestone) == ("permit_issued", "loan_received")


def test_milestones_and_lookups(content: Content) -> None:
    """Milestone steps are found; lookups answer None for unknown ids."""
    permit = content.milestone_step("permit_issued")
    loan = content.milestone_step("loan_received")
    assert permit is not None and permit.id == "permit_issued" and not permit.only_for
    assert loan is not None and loan.id == "loan_received" and not loan.only_for
    assert content.step("register_system") is content.steps[0]
    assert content.field("food") is not None and content.county("karaj") is not None
    assert content.question("nationality") is not None
    assert content.problem("financing") is not None
    assert content.portal("smkh") is not None and content.faq_item("permit_cost") is not None
    assert content.sales_band("no_say") is not None
    assert content.pause_reason("seasonal") is not None
    assert content.closed_reason("other_job") is not None
    for lookup in (content.step, content.field, content.county, content.question, content.problem):
        assert lookup("nope") is None
        assert lookup(None) is None


def test_eligibility_questions(content: Content) -> None:
    """The questions the brief asks for, each with reasons where it fails or warns."""
    ids = [q.id for q in content.eligibility.questions]
    assert {"nationality", "age", "residence", "space", "insurance", "prior_loan", "skill"} <= set(
        ids
    )
    for q in content.eligibility.questions:
        assert len(q.answers) >= 2
        assert any(a.outcome == "pass" for a in q.answers), q.id
        for a in q.answers:
            assert a.outcome in ("pass", "fail", "warn")
            assert a.outcome == "pass" or a.reason is not None
    insurance = content.question("insurance")
    assert insurance is not None and {a.outcome for a in insurance.answers} == {"pass", "warn"}


def test_schedule_is_typed(content: Content) -> None:
    """Schedule numbers become ints, times and Python weekday numbers."""
    s = content.schedule
    assert (s.first_checkin_days, s.checkin_every_days) == (30, 90)
    assert s.reminder_days == (3, 7) and s.no_answer_after_days == 14
    assert (s.quiet_start, s.quiet_end) == (time(9, 0), time(20, 0))
    assert s.quiet_weekdays == frozenset({4})
    assert (s.nudge_after_days, s.nudge_max, s.timezone) == (7, 3, "Asia/Tehran")


def test_text_fallbacks() -> None:
    """get() falls back to Persian for unknown languages and missing translations."""
    assert LText("سلام", "Hello").get("en") == "Hello"
    assert LText("سلام", "Hello").get("fa") == "سلام"
    assert LText("سلام", "Hello").get("de") == "سلام"
    assert LText("سلام", "").get("en") == "سلام"
    items = LList(("یک", "دو"), ("one", "two"))
    assert items.get("en") == ["one", "two"] and items.get("xx") == ["یک", "دو"]
    assert LList(("یک",), ()).get("en") == ["یک"]
    assert len(items) == 2 and not LList((), ())


def _strip_english(value: Any) -> Any:
    """The same YAML data without any 'en' key."""
    if isinstance(value, dict):
        return {k: _strip_english(v) for k, v in value.items() if k != "en"}
    if isinstance(value, list):
        return [_strip_english(v) for v in value]
    return value


def _write(tmp_path: Path, data: Any, name: str = "content.yaml") -> Path:
    """Write YAML data to a temporary file."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_persian_only_content_when_english_not_required(tmp_path: Path) -> None:
    """With languages=('fa',), English may be absent and falls back to Persian."""
    path = _write(tmp_path, _strip_english(_raw()))
    with pytest.raises(ContentError, match="missing language 'en'"):
        load_content(path)
    c = load_content(path, languages=("fa",))
    assert c.steps[0].title.get("en") == c.steps[0].title.fa
    assert c.steps[0].documents.get("en") == c.steps[0].documents.get("fa")


def test_languages_argument_is_checked() -> None:
    """Persian is always required; only fa and en are known."""
    with pytest.raises(ValueError, match="languages"):
        load_content(CONTENT_PATH, languages=("en",))
    with pytest.raises(ValueError, match="languages"):
        load_content(CONTENT_PATH, languages=("fa", "de"))


def test_arabic_letters_are_normalised(tmp_path: Path) -> None:
    """Arabic ي and ك typed by staff become Persian ی and ک."""
    data = _raw()
    data["counties"][0]["name"]["fa"] = "كرج"
    data["faq"][0]["q"]["fa"] = "مشاغل خانگي چيست؟"
    c = load_content(_write(tmp_path, data))
    assert c.counties[0].name.fa == "کرج"
    assert c.faq[0].q.fa == "مشاغل خانگی چیست؟"


# --------------------------------------------------------------------------- broken variants


def _index(items: list[dict[str, Any]], item_id: str) -> int:
    """Position of the item with this id."""
    return next(i for i, item in enumerate(items) if item["id"] == item_id)


def _missing_en(d: dict[str, Any]) -> str:
    """A step title without English."""
    del d["steps"][3]["title"]["en"]
    return "steps[3].title: missing language 'en'"


def _empty_fa(d: dict[str, Any]) -> str:
    """A blank Persian answer."""
    d["faq"][0]["a"]["fa"] = "   "
    return "faq[0].a: empty text in language 'fa'"


def _text_not_mapping(d: dict[str, Any]) -> str:
    """A text written without languages."""
    d["programme"]["name"] = "just one text"
    return "programme.name: expected {fa: ..., en: ...}"


def _unknown_language(d: dict[str, Any]) -> str:
    """A language key that is neither fa nor en."""
    d["counties"][2]["name"]["ar"] = "نظرآباد"
    return "counties[2].name: unknown language 'ar'"


def _list_lengths_differ(d: dict[str, Any]) -> str:
    """English facts one short."""
    d["loans"]["facts"]["en"].pop()
    n = len(d["loans"]["facts"]["fa"])
    return f"loans.facts: 'fa' has {n} items but 'en' has {n - 1}"


def _extra_step_nowhere(d: dict[str, Any]) -> str:
    """A field naming a step that does not exist."""
    i = _index(d["fields"], "food")
    d["fields"][i]["extra_steps"].append("nowhere")
    return f"fields[{i}].extra_steps[2]: unknown step 'nowhere'"


def _extra_step_not_only_for(d: dict[str, Any]) -> str:
    """A field naming a common step as its extra step."""
    i = _index(d["fields"], "handicrafts")
    d["fields"][i]["extra_steps"] = ["register_system"]
    return f"fields[{i}].extra_steps[0]: step 'register_system' must list 'handicrafts'"


def _only_for_unknown_field(d: dict[str, Any]) -> str:
    """A step only for a field that does not exist."""
    i = _index(d["steps"], "agri_approval")
    d["steps"][i]["only_for"].append("bakery")
    return f"steps[{i}].only_for[1]: unknown field 'bakery'"


def _only_for_not_listed(d: dict[str, Any]) -> str:
    """A step only for food that food does not list."""
    i = _index(d["fields"], "food")
    d["fields"][i]["extra_steps"].remove("health_licence")
    s = _index(d["steps"], "health_licence")
    return f"steps[{s}].only_for[0]: field 'food' must list 'health_licence' in its extra_steps"


def _duplicate_county(d: dict[str, Any]) -> str:
    """Two counties with one id."""
    d["counties"][1]["id"] = "karaj"
    return "counties[1].id: duplicate id 'karaj'"


def _duplicate_answer(d: dict[str, Any]) -> str:
    """Two answers with one id in a question."""
    d["eligibility"]["questions"][0]["answers"][1]["id"] = "yes"
    return "eligibility.questions[0].answers[1].id: duplicate id 'yes'"


def _bad_id_case(d: dict[str, Any]) -> str:
    """An id with a capital letter."""
    d["counties"][0]["id"] = "Karaj"
    return "counties[0].id: bad id 'Karaj'"


def _bad_id_length(d: dict[str, Any]) -> str:
    """An id longer than 20 characters."""
    d["faq"][0]["id"] = "a" * 21
    return f"faq[0].id: bad id '{'a' * 21}'"


def _unquoted_yes(d: dict[str, Any]) -> str:
    """An answer id written yes without quotes (YAML reads true)."""
    d["eligibility"]["questions"][0]["answers"][0]["id"] = True
    return "eligibility.questions[0].answers[0].id: expected an id, found true"


def _unknown_outcome(d: dict[str, Any]) -> str:
    """An outcome that is not pass, fail or warn."""
    d["eligibility"]["questions"][1]["answers"][0]["outcome"] = "maybe"
    return "eligibility.questions[1].answers[0].outcome: unknown outcome 'maybe'"


def _fail_without_reason(d: dict[str, Any]) -> str:
    """A failing answer with no reason."""
    q = _index(d["eligibility"]["questions"], "nationality")
    answers = d["eligibility"]["questions"][q]["answers"]
    a = _index(answers, "no")
    del answers[a]["reason"]
    return f"eligibility.questions[{q}].answers[{a}].reason: missing: a fail answer needs a reason"


def _one_answer(d: dict[str, Any]) -> str:
    """A question with a single answer."""
    q = d["eligibility"]["questions"][2]
    q["answers"] = q["answers"][:1]
    return "eligibility.questions[2].answers: a question needs at least 2 answers, found 1"


def _unknown_milestone(d: dict[str, Any]) -> str:
    """A milestone that is not known."""
    d["steps"][0]["milestone"] = "graduated"
    return "steps[0].milestone: unknown milestone 'graduated'"


def _milestone_twice(d: dict[str, Any]) -> str:
    """Two steps marking the permit."""
    d["steps"][0]["milestone"] = "permit_issued"
    return "steps: exactly one step must have milestone 'permit_issued', found 2"


def _missing_track(d: dict[str, Any]) -> str:
    """A step that does not say whether it is a permit or a loan step."""
    i = _index(d["steps"], "agency_review")
    del d["steps"][i]["track"]
    return f"steps[{i}].track: missing"


def _unknown_track(d: dict[str, Any]) -> str:
    """A track that is neither permit nor loan."""
    i = _index(d["steps"], "bank_intro")
    d["steps"][i]["track"] = "bank"
    return f"steps[{i}].track: unknown track 'bank' (expected permit or loan)"


def _permit_step_among_loan_steps(d: dict[str, Any]) -> str:
    """A permit step after the loan steps have begun."""
    i = _index(d["steps"], "county_review")
    d["steps"][i]["track"] = "permit"
    return f"steps[{i}].track: the permit steps must all come before the loan steps"


def _track_not_ending_with_its_milestone(d: dict[str, Any]) -> str:
    """A loan step after "loan received"."""
    step = d["steps"].pop(_index(d["steps"], "bank_intro"))
    d["steps"].append(step)
    last = len(d["steps"]) - 1
    return f"steps[{last}]: the last loan step must be the one with milestone 'loan_received'"


def _unknown_key(d: dict[str, Any]) -> str:
    """A misspelt key."""
    i = _index(d["steps"], "vet_approval")
    d["steps"][i]["only_fro"] = d["steps"][i].pop("only_for")
    return f"steps[{i}].only_fro: no screen shows a field called 'only_fro'"


def _missing_section(d: dict[str, Any]) -> str:
    """No FAQ section at all."""
    del d["faq"]
    return "faq: missing"


def _negative_days(d: dict[str, Any]) -> str:
    """A negative check-in interval."""
    d["schedule"]["checkin_every_days"] = -5
    return "schedule.checkin_every_days: must be at least 1, found -5"


def _not_a_number(d: dict[str, Any]) -> str:
    """A number written as words."""
    d["schedule"]["nudge_max"] = "three"
    return "schedule.nudge_max: expected a whole number, found 'three'"


def _quiet_inverted(d: dict[str, Any]) -> str:
    """A sending window that closes before it opens."""
    d["schedule"]["quiet_start"] = "21:00"
    return "schedule.quiet_start: must be earlier than quiet_end"


def _bad_time(d: dict[str, Any]) -> str:
    """A time that is not HH:MM."""
    d["schedule"]["quiet_end"] = "8pm"
    return "schedule.quiet_end: expected a time like \"09:00\", found '8pm'"


def _unknown_weekday(d: dict[str, Any]) -> str:
    """A misspelt weekday."""
    d["schedule"]["quiet_weekdays"] = ["fryday"]
    return "schedule.quiet_weekdays[0]: unknown weekday 'fryday'"


def _every_day_quiet(d: dict[str, Any]) -> str:
    """No day left for sending."""
    d["schedule"]["quiet_weekdays"] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    return "schedule.quiet_weekdays: must leave at least one day for sending"


def _reminder_after_no_answer(d: dict[str, Any]) -> str:
    """A reminder later than giving up."""
    d["schedule"]["reminder_days"] = [3, 20]
    return "schedule.no_answer_after_days: must be more than the last reminder day (20)"


def _reminders_unordered(d: dict[str, Any]) -> str:
    """Reminder days out of order."""
    d["schedule"]["reminder_days"] = [7, 3]
    return "schedule.reminder_days: must be increasing, without repeats"


def _too_wide(text: dict[str, str], lang: str, label: str) -> str:
    """Set one language of a button's text to a label too wide for a phone; what is said."""
    text[lang] = label
    quoted = f"«{label}»" if lang == "fa" else f"“{label}”"
    return f"the button label {quoted} has {label_width(label)} characters; a phone cuts"


def _field_name_too_wide(d: dict[str, Any]) -> str:
    """A business field whose name a phone cuts, even on a row of its own."""
    name = d["fields"][0]["name"]
    return "fields[0].name.fa: " + _too_wide(
        name, "fa", "صنایع دستی، هنرهای سنتی و هنرهای تجسمی"
    )


def _county_name_too_wide(d: dict[str, Any]) -> str:
    """A county whose English name is a sentence."""
    name = d["counties"][1]["name"]
    return "counties[1].name.en: " + _too_wide(
        name, "en", "Fardis, including the villages around it"
    )


def _answer_too_wide(d: dict[str, Any]) -> str:
    """An eligibility answer that explains itself on the button."""
    label = d["eligibility"]["questions"][0]["answers"][0]["label"]
    return "eligibility.questions[0].answers[0].label.fa: " + _too_wide(
        label, "fa", "بله، شناسنامه و کارت ملی ایرانی دارم"
    )


def _checkin_choice_too_wide(d: dict[str, Any]) -> str:
    """A check-in choice longer than a row."""
    label = d["checkin"]["pause_reasons"][3]["label"]
    return "checkin.pause_reasons[3].label.en: " + _too_wide(
        label, "en", "Raw materials unavailable or too expensive"
    )


def _faq_question_too_wide(d: dict[str, Any]) -> str:
    """A FAQ question (a button on the FAQ page) a phone cuts."""
    q = d["faq"][6]["q"]
    return "faq[6].q.fa: " + _too_wide(q, "fa", "برای آموزش و مشاوره به کجا مراجعه کنم؟")


def _no_before_yes(d: dict[str, Any]) -> str:
    """An eligibility question offering «خیر» above «بله» (the order issue 10 found)."""
    i = _index(d["eligibility"]["questions"], "insurance")
    answers = d["eligibility"]["questions"][i]["answers"]
    answers.insert(0, answers.pop(_index(answers, "no")))
    return f'eligibility.questions[{i}].answers: put the "yes" answer before the "no" answer'


def _unknown_step_placeholder(d: dict[str, Any]) -> str:
    """A step text with a placeholder its card does not fill in."""
    d["steps"][0]["what"] = {"fa": "نام شما: {name}", "en": "Your name: {name}"}
    return "steps[0].what: {name} would be shown as it is (this text fills in {agency})"


def _placeholder_outside_steps(d: dict[str, Any]) -> str:
    """{agency} where no screen fills it in."""
    d["faq"][0]["a"] = {"fa": "دستگاه: {agency}", "en": "Agency: {agency}"}
    return "faq[0].a: {agency} would be shown as it is (this text fills in nothing)"


BROKEN: list[Callable[[dict[str, Any]], str]] = [
    _missing_en,
    _empty_fa,
    _text_not_mapping,
    _unknown_language,
    _list_lengths_differ,
    _extra_step_nowhere,
    _extra_step_not_only_for,
    _only_for_unknown_field,
    _only_for_not_listed,
    _duplicate_county,
    _duplicate_answer,
    _bad_id_case,
    _bad_id_length,
    _unquoted_yes,
    _unknown_outcome,
    _fail_without_reason,
    _one_answer,
    _unknown_milestone,
    _milestone_twice,
    _missing_track,
    _unknown_track,
    _permit_step_among_loan_steps,
    _track_not_ending_with_its_milestone,
    _unknown_key,
    _missing_section,
    _negative_days,
    _not_a_number,
    _quiet_inverted,
    _bad_time,
    _unknown_weekday,
    _every_day_quiet,
    _reminder_after_no_answer,
    _reminders_unordered,
    _field_name_too_wide,
    _county_name_too_wide,
    _answer_too_wide,
    _checkin_choice_too_wide,
    _faq_question_too_wide,
    _no_before_yes,
    _unknown_step_placeholder,
    _placeholder_outside_steps,
]


@pytest.mark.parametrize("breaks", BROKEN, ids=[b.__name__.lstrip("_") for b in BROKEN])
def test_broken_content_is_refused_with_file_and_key(
    tmp_path: Path, breaks: Callable[[dict[str, Any]], str]
) -> None:
    """Each broken variant raises ContentError naming the file and the key path."""
    data = _raw()
    expected = breaks(data)
    path = _write(tmp_path, data)
    with pytest.raises(ContentError) as info:
        load_content(path)
    message = str(info.value)
    assert f"{path}: {expected}" in message, message
    assert info.value.source == str(path)


def test_first_line_has_the_documented_shape(tmp_path: Path) -> None:
    """The message reads 'file: key.path: problem (line N)'."""
    data = _raw()
    _missing_en(data)
    path = _write(tmp_path, data)
    with pytest.raises(ContentError) as info:
        load_content(path)
    assert info.value.problems[0].startswith("steps[3].title: missing language 'en' (line ")
    assert re.fullmatch(
        re.escape(f"{path}: steps[3].title: missing language 'en'") + r" \(line \d+\)",
        str(info.value),
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several mistakes give one error listing each of them."""
    data = copy.deepcopy(_raw())
    expected = [_missing_en(data), _duplicate_county(data), _unknown_weekday(data)]
    path = _write(tmp_path, data)
    with pytest.raises(ContentError) as info:
        load_content(path)
    assert len(info.value.problems) == 3
    for part in expected:
        assert part in str(info.value)


def test_problem_names_the_line(tmp_path: Path) -> None:
    """A validation problem gives the line of the mapping it is in."""
    path = tmp_path / "short.yaml"
    path.write_text('steps:\n  - id: first\n    title:\n      fa: "گام"\n', encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(path)
    assert f"{path}: steps[0].title: missing language 'en' (line 4)" in str(info.value)
    assert f"{path}: programme: missing" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('programme:\n  name: {fa: "نام", en: "Name"\n', "line 3, column 1: YAML syntax error"),
        ("steps:\n\t- id: x\n", "line 2, column 1: YAML syntax error"),
        ('faq:\n  - id: a\n    q: "x"\n   a: "y"\n', "line 4, column 4: YAML syntax error"),
        ("programme:\n  name: 1\n  name: 2\n", "the key 'name' is written twice"),
    ],
    ids=["unclosed_brace", "tab_indent", "bad_indent", "duplicate_key"],
)
def test_yaml_errors_name_the_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    """YAML syntax errors are wrapped with the file name and the line."""
    path = tmp_path / "content.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line "), message
    assert expected in message, message
    assert isinstance(info.value.__cause__, yaml.YAMLError)


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (None, "cannot read the file"),
        ("کرج".encode("cp1256"), "not UTF-8 text"),
        (b"", "programme: missing"),
        (b"- just\n- a list\n", "expected a mapping, found a list"),
    ],
    ids=["no_file", "not_utf8", "empty", "top_level_list"],
)
def test_unreadable_files(tmp_path: Path, write: bytes | None, expected: str) -> None:
    """A missing, mis-encoded, empty or wrongly shaped file is a ContentError too."""
    path = tmp_path / "content.yaml"
    if write is not None:
        path.write_bytes(write)
    with pytest.raises(ContentError) as info:
        load_content(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)

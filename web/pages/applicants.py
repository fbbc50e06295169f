"""The Applicants pages: search and filter applicants page by page, and one person's record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiMapping

from bot.content.model import TRACKS, Content
from bot.core.clock import from_ts
from bot.core.jalali import tehran_today
from bot.core.labels import card_national_code
from bot.core.text import parse_id
from bot.repo.audiences import CHECKIN_VALUES, DIMENSIONS, LANG_VALUES, MAX_VALUES
from bot.repo.people import Filters, PeopleRepo
from bot.rules.applicant_search import read_search
from bot.rules.roster_survival import cohort_key, cohort_of, cohort_start
from bot.rules.stages import STAGES
from web.keys import services, staff
from web.render import render

PLATFORMS = ("telegram", "bale")
#: Cohort keys accepted in a link (Solar Hijri years the programme can have loans in).
COHORT_YEARS = range(1390, 1500)
#: Loan cohorts offered in the filter: this half-year and the ones before it.
COHORTS_SHOWN = 12


def choices(
    content: Content, lang: str, t: Any, counties: frozenset[str] | None
) -> dict[str, list[tuple[str, str]]]:
    """Each filter's values with their labels, counties limited to the member's scope."""
    return {
        "platform": [(p, t(f"broadcast.platform.{p}")) for p in PLATFORMS],
        "county": [
            (c.id, c.name.get(lang))
            for c in content.counties
            if counties is None or c.id in counties
        ],
        "field": [(f.id, f.name.get(lang)) for f in content.fields],
        "stage": [(s, t(f"web.applicants.stage.{s}")) for s in STAGES],
        "checkin": [(c, t(f"broadcast.checkin.{c}")) for c in CHECKIN_VALUES],
        "lang": [(code, t(f"broadcast.lang.{code}")) for code in LANG_VALUES],
    }


def cohort_days(key: int) -> tuple[str, str] | None:
    """A loan cohort key (14041: the first half of 1404) as ISO days [start, end)."""
    year, half = divmod(key, 10)
    if year not in COHORT_YEARS or half not in (1, 2):
        return None
    following = key + 1 if half == 1 else (year + 1) * 10 + 1
    return cohort_start(key).isoformat(), cohort_start(following).isoformat()


def read_filters(
    query: MultiMapping[str], options: Mapping[str, list[tuple[str, str]]], content: Content
) -> tuple[Filters, dict[str, Any]]:
    """The list's filters from the address (unknown values are ignored) and what the form
    shows chosen."""
    text = query.get("q", "")[:200]
    audience: dict[str, list[str]] = {}
    for dim in DIMENSIONS:
        known = {value for value, _ in options[dim]}
        picked: list[str] = []
        for value in query.getall(dim, []):
            if value in known and value not in picked:
                picked.append(value)
        if picked:
            audience[dim] = picked[:MAX_VALUES]
    step = query.get("step")
    if step is not None and content.step(step) is None:
        step = None
    cohort_key = parse_id(query.get("cohort", ""))
    cohort = cohort_days(cohort_key) if cohort_key is not None else None
    filters = Filters(read_search(text), audience, step, cohort)
    chosen = {
        "q": text,
        **{dim: set(values) for dim, values in audience.items()},
        "step": step,
        "cohort": cohort_key if cohort else None,
    }
    return filters, chosen


async def applicants(request: web.Request) -> web.StreamResponse:
    """The list: a search box, the filters, a page of applicants and the pager."""
    svc = services(request)
    session = staff(request)
    lang = session.lang

    def t(key: str, **values: Any) -> str:
        """A text in the staff member's language."""
        return svc.i18n.t(lang, key, **values)

    options = choices(svc.content, lang, t, session.scope.counties)
    query = await _asked(request)
    filters, chosen = read_filters(query, options, svc.content)
    after = parse_id(str(query.get("after", "")))
    before = parse_id(str(query.get("before", "")))
    page = await PeopleRepo(svc.db.reader()).page(
        filters, session.scope, after=after, before=before
    )
    names = {dim: dict(values) for dim, values in options.items()}
    steps = [(s.id, s.title.get(lang)) for s in svc.content.steps]
    keep = [(k, v) for k, v in query.items() if k not in ("after", "before", "_csrf")]
    return render(
        request,
        "applicants.html",
        page=page,
        filters=filters,
        chosen=chosen,
        options=options,
        names=names,
        steps=steps,
        step_names=dict(steps),
        keep=keep,
        opened=any(chosen.get(d) for d in (*DIMENSIONS, "step", "cohort")),
        cohorts=_with_chosen(recent_cohorts(svc.clock.timestamp(), t), chosen["cohort"], t),
    )


async def _asked(request: web.Request) -> MultiDict[str]:
    """What the list is asked for. A search travels in a POST body, never in the address (an
    address lands in the browser's history and in any proxy's log): a GET's ``q`` is dropped,
    while its filters (ids of counties, fields, steps: no one's data) stay linkable."""
    if request.method == "POST":
        form = await request.post()
        return MultiDict((k, v) for k, v in form.items() if isinstance(v, str))
    return MultiDict((k, v) for k, v in request.query.items() if k != "q")


def recent_cohorts(now: int, t: Any) -> list[tuple[int, str]]:
    """The latest loan cohorts, newest first, with their labels."""
    moment = from_ts(now)
    assert moment is not None
    key = cohort_key(cohort_of(tehran_today(moment)))
    found = []
    for _ in range(COHORTS_SHOWN):
        found.append((key, _cohort_label(key, t)))
        year, half = divmod(key, 10)
        key = year * 10 + 1 if half == 2 else (year - 1) * 10 + 2
    return found


def _cohort_label(key: int, t: Any) -> str:
    """A cohort key as words: «۱۴۰۴، نیمهٔ نخست»."""
    year, half = divmod(key, 10)
    return str(t("web.applicants.cohort_value", year=year, half=t(f"web.applicants.half.{half}")))


def _with_chosen(cohorts: list[tuple[int, str]], key: int | None, t: Any) -> list[tuple[int, str]]:
    """The offered cohorts, plus the one in the address when it is older (a figure's link)."""
    if key is None or any(k == key for k, _ in cohorts):
        return cohorts
    return [*cohorts, (key, _cohort_label(key, t))]


async def person(request: web.Request) -> web.StreamResponse:
    """One applicant's page; an id out of the member's scope is as missing as an unknown one."""
    pk = parse_id(request.match_info["id"])
    svc = services(request)
    session = staff(request)
    repo = PeopleRepo(svc.db.reader())
    found = await repo.person(pk, session.scope) if pk is not None else None
    if found is None:
        raise web.HTTPNotFound()
    lang = session.lang
    progress = await repo.steps(found.id)
    tracks = [
        (track, [(s, progress.get(s.id)) for s in svc.content.track_steps(found.field, track)])
        for track in TRACKS
    ]
    county = svc.content.county(found.county)
    field = svc.content.field(found.field)
    return render(
        request,
        "person.html",
        person=found,
        county=county.name.get(lang) if county else found.county,
        field=field.name.get(lang) if field else found.field,
        tracks=tracks,
        checkins=await repo.checkins(found.id),
        tickets=await repo.tickets(found.id),
        followups=await repo.followups(found.id),
        messages=await repo.messages(found.id),
        roster=await repo.roster(found.id),
        has=svc.i18n.has,
        iso=_day,
        card_code=card_national_code,
    )


def _day(text: str) -> dt.date | None:
    """A stored ISO day (None when it is not one)."""
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def setup(app: web.Application) -> None:
    """Add the applicants routes."""
    app.router.add_get("/applicants", applicants)
    app.router.add_post("/applicants", applicants)
    app.router.add_get("/applicants/{id}", person)

"""A 1,000,000-applicant database as the console's Applicants pages meet it: Persian names of
two and three words, real-shaped mobiles and national codes, the audience dimensions skewed as
in a province (Karaj largest), step progress by stage, check-ins, tickets and the outbox."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from bench.common import START, START_TS
from bot.db.engine import Database

#: The content's counties, the first the largest.
COUNTIES = ("karaj", "fardis", "nazarabad", "savojbolagh", "eshtehard", "taleqan", "chaharbagh")
COUNTY_WEIGHTS = (40, 20, 10, 12, 6, 3, 9)
FIELDS = ("handicrafts", "textiles_clothing", "food", "agri_livestock", "culture_arts",
          "digital_services", "services", "other")  # fmt: skip
FIELD_WEIGHTS = (20, 25, 20, 10, 5, 4, 10, 6)
STAGES = ("idea", "applying", "permit", "loan", "operating")
STAGE_WEIGHTS = (15, 30, 15, 25, 15)
CHECKINS = (None, "operating", "problems", "paused", "closed", "no_answer")
PERMIT = ("register_system", "agency_review", "permit_issued")
LOAN = ("loan_register", "county_review", "tech_committee", "bank_intro", "loan_received")
FIRST = (
    "فاطمه", "زهرا", "مریم", "معصومه", "زینب", "سمیه", "لیلا", "نرگس", "الهام", "مهسا",
    "سارا", "نازنین", "رقیه", "اعظم", "طاهره", "شهلا", "پروین", "مینا", "آزاده", "سکینه",
    "محمد", "علی", "حسین", "رضا", "مهدی", "امیر", "حسن", "جواد", "علی‌رضا", "محمدرضا",
)  # fmt: skip
MIDDLE = ("سادات", "بیگم", "السادات")
LAST = (
    "رضایی", "محمدی", "حسینی", "احمدی", "کریمی", "موسوی", "جعفری", "قاسمی", "صادقی", "رحیمی",
    "اکبری", "حیدری", "نوری", "کاظمی", "عباسی", "ابراهیمی", "مرادی", "یوسفی", "سلیمانی",
    "باقری", "امیری", "نجفی", "طاهری", "حسن‌زاده", "علی‌پور", "کرمانی", "تهرانی", "شریفی",
    "فرهادی", "نظری", "اسدی", "زارعی", "بهرامی", "قربانی", "خسروی", "سبحانی", "ملکی",
    "توکلی", "مختاری", "غلامی", "پورمحمدی", "عزیزی", "یزدانی", "فتحی", "رستمی", "میرزایی",
)  # fmt: skip
MOBILE_STEP = 7919  # coprime with 10: n * step mod 10^9 is a different number for each n
CODE_STEP = 104_729
USER_SQL = (
    "INSERT INTO users (id, platform, user_id, chat_id, lang, consent_at, full_name, mobile,"
    " national_code, county, field, stage, profile_done, proactive, unreachable_at, state,"
    " state_data, created_at, updated_at, permit_on, loan_on, checkin_status)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 'menu', '{}', ?, ?, ?, ?, ?)"
)


def mobile_of(pk: int) -> str:
    """The seeded person's mobile as stored (+989…)."""
    return f"+989{(pk * MOBILE_STEP + 123_456_789) % 10**9:09d}"


def national_code_of(pk: int) -> str:
    """The seeded person's national code: nine digits from the id and the check digit."""
    body = f"{(pk * CODE_STEP + 987_654_321) % 10**9:09d}"
    rem = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rem if rem < 2 else 11 - rem)


def name_of(pk: int) -> str:
    """The seeded person's name: first and last, one in four with a second word."""
    rng = random.Random(pk)
    first = rng.choice(FIRST)
    last = rng.choice(LAST)
    if pk % 4 == 0:
        return f"{first} {rng.choice(MIDDLE)} {last}"
    if pk % 4 == 1:
        return f"{first} {rng.choice(FIRST)} {last}" if pk % 8 == 1 else f"{first} {last}"
    return f"{first} {last}"


def _pick(pk: int, salt: int, values: tuple[Any, ...], weights: tuple[int, ...]) -> Any:
    """A value for this person, drawn by weight, the same every time."""
    x = (pk * 0x9E3779B1 + salt * 0x85EBCA77) & 0xFFFFFFFF
    x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    x = ((x ^ (x >> 12)) * 0x297A2D39) & 0xFFFFFFFF
    spot = (x ^ (x >> 15)) % sum(weights)
    for value, weight in zip(values, weights, strict=True):
        if spot < weight:
            return value
        spot -= weight
    return values[-1]


def stage_of(pk: int) -> str:
    """The seeded person's stage."""
    return str(_pick(pk, 1, STAGES, STAGE_WEIGHTS))


def _day(days_before: int) -> str:
    """An ISO day this many days before the benchmark's clock."""
    return (START - dt.timedelta(days=days_before)).date().isoformat()


def _users(total: int) -> Iterator[tuple[Any, ...]]:
    """Every applicant's row; one in 200 never consented (a visitor), a few stopped."""
    rng = random.Random(12)
    for pk in range(1, total + 1):
        stage = stage_of(pk)
        created = START_TS - 86_400 * 900 + pk * 60  # the newest joined last
        consent = None if pk % 200 == 0 else created + 120
        checkin = rng.choice(CHECKINS) if stage in ("loan", "operating") else None
        yield (
            pk, "bale" if pk % 5 < 2 else "telegram", pk, pk, "en" if pk % 9 == 0 else "fa",
            consent, name_of(pk), mobile_of(pk), national_code_of(pk) if pk % 3 else None,
            _pick(pk, 2, COUNTIES, COUNTY_WEIGHTS), _pick(pk, 3, FIELDS, FIELD_WEIGHTS),
            stage, 0 if pk % 37 == 0 else 1, created + 3_600 if pk % 53 == 0 else None,
            created, created + rng.randrange(86_400 * 300),
            _day(200 + pk % 400) if stage in ("permit", "loan", "operating") else None,
            _day(pk % 700) if stage in ("loan", "operating") else None, checkin,
        )  # fmt: skip


def _steps(total: int) -> Iterator[tuple[Any, ...]]:
    """Step rows by stage: the steps behind done, the next one under way."""
    for pk in range(1, total + 1):
        stage = stage_of(pk)
        began = START_TS - 86_400 * (60 + pk % 300)
        done = {"idea": 0, "applying": 1, "permit": 3, "loan": 8, "operating": 8}[stage]
        for i, step in enumerate((*PERMIT, *LOAN)[: done + 1]):
            finished = began + 86_400 * (i + 1) if i < done else None
            day = (
                dt.datetime.fromtimestamp(finished, dt.UTC).date().isoformat() if finished else None
            )
            yield (pk, step, began + 86_400 * i, finished, day)


async def seed(db: Database, total: int) -> float:
    """The applicants and their history, in a few large transactions; the seconds taken."""
    began = time.perf_counter()
    async with db.transaction(slow=True) as tx:
        await tx.executemany(USER_SQL, _users(total))
    async with db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on)"
            " VALUES (?, ?, ?, ?, ?)",
            _steps(total),
        )
    async with db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO checkin_rounds (id, user_pk, due_at, sent_at, status, closed_at)"
            " VALUES (?, ?, ?, ?, 'answered', ?)",
            ((pk, pk, START_TS - 86_400 * 30, START_TS - 86_400 * 30, START_TS - 86_400 * 29)
             for pk in range(1, total + 1, 4)),
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at)"
            " SELECT ?, ?, COALESCE(checkin_status, 'operating'), '{}', ? FROM users WHERE id = ?",
            ((pk, pk, START_TS - 86_400 * 29, pk) for pk in range(1, total + 1, 4)),
        )
        await tx.executemany(
            "INSERT INTO tickets (id, platform, user_pk, kind, status, created_at)"
            " VALUES (?, 'telegram', ?, 'question', ?, ?)",
            ((pk, pk, "open" if pk % 3 else "closed", START_TS - 86_400)
             for pk in range(7, total + 1, 20)),
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, payload, dedupe_key, status,"
            " not_before, created_at, sent_at) VALUES ('telegram', ?, ?, ?, ?, ?, 'sent', ?, ?, ?)",
            _outbox(total),
        )
    return time.perf_counter() - began


def _outbox(total: int) -> Iterator[tuple[Any, ...]]:
    """One check-in message for every fourth person and a nudge for every tenth."""
    payload = json.dumps({"text": "پیام", "buttons": None, "photo": None, "document": None})
    for pk in range(1, total + 1):
        if pk % 4 == 1:
            at = START_TS - 86_400 * 30
            yield (pk, pk, "checkin", payload, f"checkin:{pk}", at, at, at)
        if pk % 10 == 3:
            at = START_TS - 86_400 * 12
            yield (pk, pk, "nudge", payload, f"nudge:{pk}", at, at, at)

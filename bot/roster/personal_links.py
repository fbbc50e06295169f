"""Personal start links for people on the list, the SMS that carries one, and the staff sheet.

A link opens the bot with ``/start <token>``: ``https://t.me/<bot>?start=<token>`` on Telegram,
``https://ble.ir/<bot>?start=<token>`` on Bale (Bale's links page documents ble.ir/<username>
and query parameters; its Bot API is Telegram's, /start payload included). The SMS goes out
from the county office's own panel: Persian text is sent as UCS-2, 70 characters to a segment,
so the text is the longest of a few wordings that fits one segment with the link in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.labels import national_mobile
from bot.core.private_files import owner_only, temporary
from bot.core.text import normalize_input, utf16_len
from bot.roster.model import RosterEntry
from bot.staffdesk.xlsx import XlsxWriter

__all__ = [
    "LINK_FORMS",
    "SMS_SEGMENT",
    "LinkSheet",
    "county_id",
    "personal_link",
    "sms_text",
    "sms_units",
    "write_links",
    "write_links_file",
]

#: A deep link per messenger; the token is base64url, so it needs no escaping.
LINK_FORMS: Mapping[str, str] = {
    "telegram": "https://t.me/{username}?start={token}",
    "bale": "https://ble.ir/{username}?start={token}",
}
#: Characters in one SMS segment when the text needs UCS-2 (any Persian letter does).
SMS_SEGMENT = 70
#: The SMS wordings, longest first; the bare link is the last resort.
SMS_KEYS = ("roster_link.sms.long", "roster_link.sms.short")


def county_id(content: Content, text: str) -> str | None:
    """The county someone named: its id, or its name in either language (None: no such)."""
    wanted = normalize_input(text)
    for county in content.counties:
        names = (county.id, normalize_input(county.name.fa), normalize_input(county.name.en))
        if wanted in names:
            return county.id
    return None


def personal_link(platform: str, username: str, token: str) -> str:
    """The link that opens this bot with this person's token."""
    return LINK_FORMS[platform].format(username=username.lstrip("@"), token=token)


def sms_units(text: str) -> int:
    """How many UCS-2 characters an SMS text takes (a character outside the BMP takes two)."""
    return utf16_len(text)


def sms_text(i18n: I18n, link: str, lang: str = "fa") -> str | None:
    """The longest wording that fits one SMS segment with the link; None if even the link
    alone does not (a bot username longer than any messenger allows)."""
    for text in (*(i18n.t(lang, key, link=link) for key in SMS_KEYS), link):
        if sms_units(text) <= SMS_SEGMENT:
            return text
    return None


@dataclass(frozen=True)
class LinkSheet:
    """What a links sheet holds: the bots' usernames by messenger and which one the SMS uses."""

    usernames: Mapping[str, str]
    sms_platform: str

    def __post_init__(self) -> None:
        """The SMS link must be one of the sheet's links."""
        if self.sms_platform not in self.usernames:
            raise ValueError(f"no username for {self.sms_platform}, the SMS's messenger")
        unknown = set(self.usernames) - set(LINK_FORMS)
        if unknown:
            raise ValueError(f"no link form for {sorted(unknown)}")


def _row(
    entry: RosterEntry, sheet: LinkSheet, content: Content, i18n: I18n, lang: str
) -> tuple[list[object], bool]:
    """One person's cells, and whether their SMS fits one segment."""
    record = entry.record
    county = content.county(record.county) if record.county else None
    field = content.field(record.field) if record.field else None
    links = {p: personal_link(p, u, entry.link_token) for p, u in sheet.usernames.items()}
    sms = sms_text(i18n, links[sheet.sms_platform])
    cells: list[object] = [
        record.national_code,
        record.full_name,
        national_mobile(record.mobile),
        county.name.get(lang) if county else record.county,
        field.name.get(lang) if field else record.field,
        *(links[p] for p in sheet.usernames),
        sms,
        sms_units(sms) if sms else None,
    ]
    return cells, sms is not None


class _Workbook:
    """The links sheet being written: a page of people at a time (each in a worker thread)."""

    def __init__(
        self, target: IO[bytes], sheet: LinkSheet, content: Content, i18n: I18n, lang: str
    ) -> None:
        """Start the workbook and its header row."""
        self.sheet, self.content, self.i18n, self.lang = sheet, content, i18n, lang
        self.listed = self.too_long = 0
        t = i18n.t
        header = [
            t(lang, "roster_link.sheet.national_code"),
            t(lang, "roster_link.sheet.full_name"),
            t(lang, "roster_link.sheet.mobile"),
            t(lang, "roster_link.sheet.county"),
            t(lang, "roster_link.sheet.field"),
            *(t(lang, f"roster_link.sheet.link_{p}") for p in sheet.usernames),
            t(lang, "roster_link.sheet.sms"),
            t(lang, "roster_link.sheet.sms_length"),
        ]
        self.writer = XlsxWriter(target, rtl=lang == "fa")
        self.writer.add_sheet(t(lang, "roster_link.sheet.title"), header, text_columns=(0, 2))

    def add(self, entries: Iterable[RosterEntry]) -> None:
        """Append one page of people."""
        rows = []
        for entry in entries:
            cells, fits = _row(entry, self.sheet, self.content, self.i18n, self.lang)
            rows.append(cells)
            self.too_long += not fits
        self.writer.append_rows(rows)
        self.listed += len(rows)


async def write_links(
    target: IO[bytes],
    pages: AsyncIterable[list[RosterEntry]],
    sheet: LinkSheet,
    *,
    content: Content,
    i18n: I18n,
    lang: str = "fa",
) -> tuple[int, int]:
    """Write the links sheet (XLSX, national code and mobile kept as text) into ``target``, a
    page at a time in a worker thread; how many people it lists and how many of their SMS
    texts did not fit one segment (their SMS cell is empty)."""
    book = _Workbook(target, sheet, content, i18n, lang)
    try:
        async for page in pages:
            await asyncio.to_thread(book.add, page)
        await asyncio.to_thread(book.writer.close)
    except BaseException:
        book.writer.abort()
        raise
    return book.listed, book.too_long


async def write_links_file(
    path: str | Path,
    pages: AsyncIterable[list[RosterEntry]],
    sheet: LinkSheet,
    *,
    content: Content,
    i18n: I18n,
    lang: str = "fa",
) -> tuple[Path, int, int]:
    """Write the links sheet to an owner-only file (".xlsx" added when missing) that appears
    under its name only when complete; its path, how many people, how many SMS too long."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        target = target.with_name(target.name + ".xlsx")
    staging = temporary(target)
    try:
        with owner_only(staging, "wb") as handle:
            listed, too_long = await write_links(
                handle, pages, sheet, content=content, i18n=i18n, lang=lang
            )
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target, listed, too_long

"""The roster import in the chat: /roster template, /roster import, the spreadsheet a staff member
sends, and the dry run's buttons (import, import the valid rows only, discard)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from telegram import InputFile
from telegram.constants import ChatAction
from telegram.error import BadRequest

from bot.core.private_files import owner_only
from bot.core.text import parse_id
from bot.repo.roster_imports import COMMITTING, STAGED, RosterImportRepo
from bot.repo.staff import StaffRepo
from bot.roster.importer import (
    Actor,
    DryRun,
    commit,
    describe,
    describe_done,
    discard,
    dry_run,
    write_rejected,
)
from bot.roster.reader import UnreadableFile
from bot.roster.template import write_template
from bot.staffdesk.roster_console import may_import
from handlers.registry import Registry
from handlers.turn import Turn, inline

#: The Bot API's getFile serves files up to 20 MB (Telegram's documented limit; Bale mirrors it).
MAX_DOWNLOAD = 20 * 1024 * 1024
SUFFIXES = (".xlsx", ".csv")
TEMPLATE_NAME = "roster-template.xlsx"


def _actor(turn: Turn) -> Actor:
    """The staff member behind this turn."""
    return Actor(turn.platform, turn.user.user_id, turn.lang)


async def _send_file(turn: Turn, data: bytes, name: str, caption: str) -> None:
    """A document after everything said so far."""
    await turn.flush()
    await turn.context.bot.send_document(
        turn.user.chat_id, document=InputFile(data, filename=name), caption=caption
    )


async def send_template(turn: Turn) -> None:
    """/roster template: the XLSX to fill, with a guide on its second sheet."""
    buffer = io.BytesIO()
    write_template(buffer, turn.svc.i18n, turn.lang)
    await _send_file(
        turn, buffer.getvalue(), TEMPLATE_NAME, turn.t("roster_import.template_caption")
    )


async def _may_import(turn: Turn) -> bool:
    """The console's rule (bot.staffdesk.roster_console.may_import): only a member who sees
    every county imports a list; a scoped member is told why."""
    scope = await StaffRepo(turn.svc.db).scope(turn.platform, turn.user.user_id)
    if may_import(scope):
        return True
    await turn.say(turn.t("roster_import.scoped"))
    return False


async def explain(turn: Turn) -> None:
    """/roster import: how to import (send the file here)."""
    if not await _may_import(turn):
        return
    await turn.say(turn.t("roster_import.ask_file", mb=MAX_DOWNLOAD // 2**20))


def _megabytes(size: int) -> str:
    """A size in whole megabytes, rounded up."""
    return str(-(-size // 2**20))


async def on_document(turn: Turn) -> None:
    """A staff member's file: download, dry run, figures with buttons, rejected rows' file."""
    message = turn.update.effective_message
    document = message.document if message is not None else None
    if document is None or not await _may_import(turn):
        return
    name = (document.file_name or "").lower()
    if name.endswith(".xls"):
        await turn.say(turn.t("roster_import.unreadable.xls"))
        return
    if not name.endswith(SUFFIXES):
        await turn.say(turn.t("roster_import.not_spreadsheet"))
        return
    size = document.file_size or 0
    if size > MAX_DOWNLOAD:
        await turn.say(_too_big(turn, size))
        return
    await turn.send(turn.t("roster_import.reading"))
    await turn.context.bot.send_chat_action(turn.user.chat_id, ChatAction.TYPING)
    with tempfile.TemporaryDirectory(prefix="homebiz-roster-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix)
        try:
            remote = await turn.context.bot.get_file(document.file_id)
            with owner_only(path, "wb") as out:
                await remote.download_to_memory(out)
        except BadRequest as exc:
            if "too big" in str(exc).lower():
                await turn.say(_too_big(turn, size))
            else:
                await turn.say(turn.t("roster_import.download_failed"))
            return
        try:
            result = await dry_run(
                turn.svc.db, turn.svc.content, turn.svc.i18n, path, _actor(turn), turn.now
            )
        except UnreadableFile as exc:
            await turn.say(turn.t(f"roster_import.unreadable.{exc.code}"))
            return
        await turn.say(describe(result, turn.svc.i18n, turn.lang), _buttons(turn, result))
        if result.import_id is not None and result.rejected:
            stem = turn.t("roster_import.rejected.file")
            target = Path(tmp) / f"{stem}-{result.import_id}.xlsx"
            await write_rejected(turn.svc.db, result.import_id, turn.svc.i18n, turn.lang, target)
            caption = turn.t("roster_import.rejected.caption")
            await _send_file(turn, target.read_bytes(), target.name, caption)
    if result.import_id is not None and not result.undecided:
        await discard(turn.svc.db, result.import_id, _actor(turn), turn.now, audit=False)


def _too_big(turn: Turn, size: int) -> str:
    """The polite answer to a file the Bot API will not hand over."""
    limit = MAX_DOWNLOAD // 2**20
    return turn.t("roster_import.too_big", size=_megabytes(size), mb=limit)


def _buttons(turn: Turn, result: DryRun):
    """Import / import the valid rows only / discard, when there is something to decide."""
    if not result.undecided:
        return None
    ident = result.import_id
    discard_button = (turn.t("roster_import.button.discard"), f"rimp:no:{ident}")
    if result.rejected:
        label = turn.t("roster_import.button.partial", valid=result.valid)
        return inline([[(label, f"rimp:part:{ident}")], [discard_button]])
    confirm = (turn.t("roster_import.button.confirm"), f"rimp:ok:{ident}")
    return inline([[confirm, discard_button]])


async def on_button(turn: Turn, args: list[str]) -> None:
    """A dry run's button: commit it (all, or its valid rows only) or discard it."""
    action = args[0] if args else ""
    import_id = parse_id(args[1]) if len(args) > 1 else None
    if action not in ("ok", "part", "no") or import_id is None:
        await turn.router.stale(turn)
        return
    actor, svc = _actor(turn), turn.svc
    if action != "no" and not may_import(
        await StaffRepo(svc.db).scope(actor.platform, actor.user_id)
    ):
        await turn.ack(turn.t("roster_import.scoped"))
        await turn.say(turn.t("roster_import.scoped"))
        return
    info = await RosterImportRepo(svc.db).get(import_id)
    mine = info is not None and (info.platform, info.actor) == (actor.platform, actor.user_id)
    if info is None or not mine or info.status not in (STAGED, COMMITTING):
        await turn.ack(turn.t("roster_import.closed"))
        await turn.say(turn.t("roster_import.closed"))
        return
    await turn.ack()
    query = turn.update.callback_query
    shown = query.message.text if query is not None and query.message is not None else None
    if action == "no":
        dropped = await discard(svc.db, import_id, actor, turn.now)
        key = "roster_import.discarded" if dropped else "roster_import.closed"
        await turn.edit_or_say(_after(shown, turn.t(key)))
        return
    committing = turn.t("roster_import.committing", rows=info.tally.valid)
    await turn.edit_or_say(_after(shown, committing))
    await turn.flush()
    done = await commit(
        svc.db,
        import_id,
        actor,
        turn.now,
        partial=action == "part",
        content=svc.content,
        i18n=svc.i18n,
    )
    if done is None:
        await turn.say(turn.t("roster_import.closed"))
        return
    await turn.say(describe_done(done, svc.i18n, turn.lang))


def _after(shown: str | None, line: str) -> str:
    """The dry run's message with what became of it below (its buttons gone)."""
    return f"{shown}\n\n{line}" if shown else line


def register(reg: Registry) -> None:
    """Add /roster template, /roster import, staff files and the dry run's buttons."""
    reg.staff_subcommand("roster", "template", send_template)
    reg.staff_subcommand("roster", "import", explain)
    reg.staff_callback("rimp", on_button)
    reg.staff_document(on_document)

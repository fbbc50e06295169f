"""Staff roles: one gate for every staff command, button and state; staff management; audit."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.core.jalali import format_datetime
from bot.core.text import parse_id
from bot.repo.staff import StaffRepo
from handlers.commands import command_of
from handlers.registry import Registry
from handlers.turn import Turn

log = logging.getLogger(__name__)
RANK = {None: 0, "staff": 1, "admin": 2}


def required_role(
    reg: Registry, update: Update, state: str | None, staff_chat: int | None = None
) -> str | None:
    """The role an update needs, or None when anyone may send it."""
    message = update.effective_message
    chat = update.effective_chat
    in_staff_chat = chat is not None and staff_chat is not None and chat.id == staff_chat
    if in_staff_chat and update.callback_query is None:
        return reg.staff_only.get("#staffchat")
    if update.callback_query is not None:
        namespace = (update.callback_query.data or "").split(":", 1)[0]
        return reg.staff_only.get(f"{namespace}:")
    command = command_of(message)
    if command is not None:
        return reg.staff_only.get(f"/{command[0]}")
    if loose_document(reg, update, state):
        return reg.staff_only.get("%document")
    if state:
        return reg.staff_only.get(f"@{state.split(':', 1)[0]}")
    return None


def loose_document(reg: Registry, update: Update, state: str | None) -> bool:
    """A document sent where no conversation takes files: staff-only when a feature handles
    such files (``Registry.staff_document``)."""
    message = update.effective_message
    return (
        update.callback_query is None
        and message is not None
        and message.document is not None
        and not reg.takes_files(state)
    )


def make_gate(reg: Registry):
    """The gate: staff-only updates from people without the role are answered as applicants."""

    async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler group; records and neutralises refused attempts."""
        user = update.effective_user
        if user is None:
            return
        svc = context.application.bot_data["services"]
        platform = context.application.bot_data["platform"]
        stored = None
        if update.callback_query is None and command_of(update.effective_message) is None:
            stored = await svc.users.find(platform, user.id)
            # Hand the row to the router's load_turn so this update reads it once. Keyed by
            # update id (unique per bot); updates no handler loads are dropped by the bound.
            prefetched = context.application.bot_data.setdefault("prefetched", {})
            if len(prefetched) > 256:
                prefetched.clear()
            prefetched[update.update_id] = stored
        staff_chat = svc.settings.staff_chats.get(platform)
        needed = required_role(reg, update, stored.state if stored else None, staff_chat)
        if needed is None:
            return
        role = await StaffRepo(svc.db).role(platform, user.id)
        if RANK[role] >= RANK[needed]:
            return
        document = loose_document(reg, update, stored.state if stored else None)
        if not document:  # an applicant's file is no attempt at anything staff-only
            what = _attempt_label(update)
            await StaffRepo(svc.db).audit(
                platform, user.id, "denied", {"what": what}, svc.clock.timestamp()
            )
        router = context.application.bot_data["router"]
        if update.effective_chat is not None and update.effective_chat.id == staff_chat:
            raise ApplicationHandlerStop  # strangers in the staff group get no answer there
        if update.callback_query is not None:
            await router.on_callback(update, context, forced_stale=True)
        elif document:
            await router.on_other(update, context, plain=True)
        elif stored is not None and stored.state:
            # Someone left in a staff conversation without the role any more: drop the
            # state and let the ordinary handlers answer whatever this update is.
            await svc.users.set_state(stored, "", {}, svc.clock.timestamp())
            return
        else:
            await router.on_command(update, context, forced_unknown=True)
        raise ApplicationHandlerStop

    return gate


def _attempt_label(update: Update) -> str:
    """What was tried, without anything personal: the command word or the button namespace."""
    if update.callback_query is not None:
        return (update.callback_query.data or "").split(":", 1)[0][:16] + ":"
    command = command_of(update.effective_message)
    return f"/{command[0]}" if command is not None else "(message)"


async def forget_attempts(turn: Turn) -> None:
    """/delete: refused attempts are personal data too."""
    await StaffRepo(turn.svc.db).forget_denied(turn.platform, turn.user.user_id)


def configured_admin(turn: Turn) -> bool:
    """An admin named in HOMEBIZ_ADMINS: made admin again at every start, so never erased."""
    return (turn.platform, turn.user.user_id) in turn.svc.settings.admins


async def has_role(turn: Turn) -> bool:
    """Whether the person is on the staff (or an admin) of this platform."""
    return await StaffRepo(turn.svc.db).role(turn.platform, turn.user.user_id) is not None


async def leave_staff(turn: Turn) -> None:
    """/delete by someone added with /addstaff: the role goes too; the audit keeps ids only."""
    repo = StaffRepo(turn.svc.db)
    role = await repo.leave(turn.platform, turn.user.user_id)
    if role is not None:
        detail = {"platform": turn.platform, "user_id": turn.user.user_id, "role": role}
        await repo.audit(
            turn.platform, turn.user.user_id, "staff_removed", {**detail, "by": "delete"}, turn.now
        )


def parse_target(turn: Turn, raw: str) -> tuple[str, int] | None:
    """`123` or `bale:123` → (platform, user id)."""
    platform, _, ident = raw.rpartition(":")
    platform = platform or turn.platform
    number = parse_id(ident.removeprefix("-"))
    if platform not in ("telegram", "bale", "local") or number is None:
        return None
    return platform, -number if ident.startswith("-") else number


async def _args(turn: Turn) -> list[str]:
    """The words after a command."""
    command = command_of(turn.update.effective_message)
    return command[1] if command is not None else []


async def add_staff(turn: Turn) -> None:
    """/addstaff [platform:]user_id [admin] — admins only."""
    args = await _args(turn)
    target = parse_target(turn, args[0]) if args else None
    role = args[1] if len(args) > 1 else "staff"
    if target is None or role not in ("staff", "admin"):
        await turn.say(turn.t("staff.addstaff_usage"))
        return
    repo = StaffRepo(turn.svc.db)
    await repo.add(target[0], target[1], role, turn.user.user_id, turn.now)
    await repo.audit(
        turn.platform,
        turn.user.user_id,
        "staff_added",
        {"platform": target[0], "user_id": target[1], "role": role},
        turn.now,
    )
    await turn.say(turn.t("staff.added", who=f"{target[0]}:{target[1]}", role=role))


async def remove_staff(turn: Turn) -> None:
    """/removestaff [platform:]user_id — admins only; admins from the settings stay."""
    args = await _args(turn)
    target = parse_target(turn, args[0]) if args else None
    if target is None:
        await turn.say(turn.t("staff.removestaff_usage"))
        return
    repo = StaffRepo(turn.svc.db)
    removed = await repo.remove(*target)
    if removed:
        await repo.audit(
            turn.platform,
            turn.user.user_id,
            "staff_removed",
            {"platform": target[0], "user_id": target[1]},
            turn.now,
        )
    key = "staff.removed" if removed else "staff.not_staff"
    await turn.say(turn.t(key, who=f"{target[0]}:{target[1]}"))


async def list_staff(turn: Turn) -> None:
    """/staff — who is on the staff of this platform."""
    members = await StaffRepo(turn.svc.db).members(turn.platform)
    lines = [turn.t("staff.list_title")] + [f"• {uid} — {role}" for uid, role in members]
    await turn.say("\n".join(lines))


async def show_audit(turn: Turn) -> None:
    """/audit — the latest entries, admins only."""
    entries = await StaffRepo(turn.svc.db).latest(20)
    lines = [turn.t("staff.audit_title")]
    for entry in entries:
        when = format_datetime(dt.datetime.fromtimestamp(entry.at, dt.UTC), turn.lang)
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items())
        lines.append(f"{when} · {entry.platform}:{entry.actor} · {entry.action} {detail}"[:200])
    if not entries:
        lines.append(turn.t("staff.audit_empty"))
    await turn.say("\n".join(lines))


def register(reg: Registry) -> None:
    """Add staff management and the audit command."""
    reg.staff_command("addstaff", add_staff, role="admin")
    reg.staff_command("removestaff", remove_staff, role="admin")
    reg.staff_command("staff", list_staff, role="admin")
    reg.staff_command("audit", show_audit, role="admin")
    reg.on("before_delete", forget_attempts)
    reg.on("before_delete", leave_staff)

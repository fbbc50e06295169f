"""The table that feature modules fill: flows by state, callbacks by namespace, menu actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import BaseHandler

from handlers.commands import command_of
from handlers.turn import Turn

Action = Callable[[Turn], Awaitable[None]]
TextAction = Callable[[Turn, str], Awaitable[None]]
CallbackAction = Callable[[Turn, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Flow:
    """A conversation a person can be in: how to ask its question and take an answer."""

    ask: Action
    on_text: TextAction
    on_contact: TextAction | None = None
    on_media: Action | None = None


@dataclass
class Registry:
    """Everything the router dispatches to."""

    flows: dict[str, Flow] = field(default_factory=dict)
    callbacks: dict[str, CallbackAction] = field(default_factory=dict)
    menu: dict[str, Action] = field(default_factory=dict)
    commands: dict[str, Action] = field(default_factory=dict)
    listeners: dict[str, list[Callable[..., Awaitable[None]]]] = field(default_factory=dict)
    staff_only: dict[str, str] = field(default_factory=dict)
    extra: list[tuple[BaseHandler[Any, Any, Any], int]] = field(default_factory=list)
    subcommands: dict[str, dict[str, Action]] = field(default_factory=dict)
    document: Action | None = None  # a file sent outside a conversation that takes files

    def flow(self, name: str, flow: Flow) -> None:
        """Register a flow under its state prefix."""
        self.flows[name] = flow

    def callback(self, namespace: str, action: CallbackAction) -> None:
        """Register a callback namespace (the part before the first ':')."""
        self.callbacks[namespace] = action

    def staff_command(self, name: str, action: Action, role: str = "staff") -> None:
        """A command only staff (or only admins) may use; the gate checks it."""
        self.commands[name] = action
        self.staff_only[f"/{name}"] = role

    def staff_subcommand(self, command: str, sub: str, action: Action, role: str = "staff") -> None:
        """``/command sub …`` for staff: several modules may add words to one command."""
        self.subcommands.setdefault(command, {})[sub] = action
        if command not in self.commands:

            async def dispatch(turn: Turn) -> None:
                """Run the named subcommand, or list them all."""
                parsed = command_of(turn.update.effective_message)
                words = parsed[1] if parsed is not None else []
                subs = self.subcommands[command]
                chosen = subs.get(words[0].lower()) if words else None
                if chosen is None:  # no word or an unknown one: what each word does
                    lines = [turn.t(f"{command}.usage")]
                    lines += [turn.t(f"{command}.help.{name}") for name in subs]
                    await turn.say("\n".join(lines))
                    return
                await chosen(turn)

            self.staff_command(command, dispatch, role)

    def staff_document(self, action: Action, role: str = "staff") -> None:
        """A document sent where no conversation takes files (e.g. a roster spreadsheet): only
        staff may send one; the gate answers anyone else as the applicant they are."""
        self.document = action
        self.staff_only["%document"] = role

    def takes_files(self, state: str | None) -> bool:
        """Whether the conversation a person is in takes files (a question to staff, a
        broadcast's picture) rather than leaving a document to ``document``."""
        flow = self.flows.get((state or "").split(":", 1)[0])
        return flow is not None and flow.on_media is not None

    def staff_callback(self, namespace: str, action: CallbackAction, role: str = "staff") -> None:
        """A button namespace only staff may press."""
        self.callbacks[namespace] = action
        self.staff_only[f"{namespace}:"] = role

    def staff_flow(self, name: str, flow: Flow, role: str = "staff") -> None:
        """A conversation state only staff can be in."""
        self.flows[name] = flow
        self.staff_only[f"@{name}"] = role

    def on(self, event: str, listener: Callable[..., Awaitable[None]]) -> None:
        """Call a listener when a feature emits an event (e.g. "step_done")."""
        self.listeners.setdefault(event, []).append(listener)

    async def emit(self, event: str, turn: Turn, *args: object) -> None:
        """Tell every listener of an event, in registration order."""
        for listener in self.listeners.get(event, []):
            await listener(turn, *args)

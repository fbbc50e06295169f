"""The table that feature modules fill: flows by state, callbacks by namespace, menu actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import BaseHandler

if TYPE_CHECKING:
    from handlers.turn import Turn

Action = Callable[["Turn"], Awaitable[None]]
TextAction = Callable[["Turn", str], Awaitable[None]]
CallbackAction = Callable[["Turn", list[str]], Awaitable[None]]


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

"""The table that feature modules fill: flows by state, callbacks by namespace, menu actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

    def flow(self, name: str, flow: Flow) -> None:
        """Register a flow under its state prefix."""
        self.flows[name] = flow

    def callback(self, namespace: str, action: CallbackAction) -> None:
        """Register a callback namespace (the part before the first ':')."""
        self.callbacks[namespace] = action

    def on(self, event: str, listener: Callable[..., Awaitable[None]]) -> None:
        """Call a listener when a feature emits an event (e.g. "step_done")."""
        self.listeners.setdefault(event, []).append(listener)

    async def emit(self, event: str, turn: Turn, *args: object) -> None:
        """Tell every listener of an event, in registration order."""
        for listener in self.listeners.get(event, []):
            await listener(turn, *args)

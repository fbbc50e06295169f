"""Feature handlers: each module registers its flows, buttons, menu entries and commands."""

from handlers import (
    broadcast,
    checkin,
    eligibility,
    inbox,
    invitations,
    menu,
    milestones,
    profile,
    questions,
    reports,
    roster_figures,
    roster_import,
    roster_link,
    settings,
    staff,
    start,
    steps,
    web_login,
)
from handlers.registry import Registry

FEATURES = (
    start,
    profile,
    menu,
    steps,
    eligibility,
    settings,
    milestones,
    checkin,
    staff,
    inbox,
    questions,
    broadcast,
    reports,
    roster_figures,
    roster_import,
    roster_link,
    web_login,
    invitations,  # after start: it wraps /start for the "do not contact me" link
)


def build_registry() -> Registry:
    """A registry filled by every feature module."""
    registry = Registry()
    for feature in FEATURES:
        feature.register(registry)
    return registry

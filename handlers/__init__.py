"""Feature handlers: each module registers its flows, buttons, menu entries and commands."""

from handlers import (
    broadcast,
    checkin,
    eligibility,
    inbox,
    menu,
    milestones,
    profile,
    questions,
    reports,
    roster_figures,
    settings,
    staff,
    start,
    steps,
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
)


def build_registry() -> Registry:
    """A registry filled by every feature module."""
    registry = Registry()
    for feature in FEATURES:
        feature.register(registry)
    return registry

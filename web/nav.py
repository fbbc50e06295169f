"""The console's sections, in menu order, and who may open each."""

from __future__ import annotations

from dataclasses import dataclass

from bot.staffdesk.console_access import StaffSession


@dataclass(frozen=True)
class Entry:
    """One menu entry: its path, its label's locale key and the role it needs."""

    path: str
    label: str
    role: str = "staff"


NAV = (
    Entry("/overview", "web.nav.overview"),
    Entry("/applicants", "web.nav.applicants"),
    Entry("/tickets", "web.nav.tickets"),
    Entry("/followups", "web.nav.followups"),
    Entry("/broadcasts", "web.nav.broadcasts"),
    Entry("/roster", "web.nav.roster"),
    Entry("/exports", "web.nav.exports"),
    Entry("/audit", "web.nav.audit", role="admin"),
    Entry("/me", "web.nav.me"),
)


def visible_entries(session: StaffSession) -> list[Entry]:
    """The entries a staff member may open."""
    return [e for e in NAV if e.role == "staff" or session.admin]

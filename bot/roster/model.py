"""One person on the programme's list, as validated and stored (no I/O here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

#: Columns an import may set, in the template's order (the first three are required).
COLUMNS = (
    "national_code",
    "full_name",
    "mobile",
    "county",
    "field",
    "permit_on",
    "loan_on",
    "loan_amount",
    "bank",
    "case_no",
)
REQUIRED = COLUMNS[:3]


@dataclass(frozen=True)
class RosterRecord:
    """The programme's facts about one person: what an import writes (validated already)."""

    national_code: str
    full_name: str
    mobile: str
    county: str | None = None
    field: str | None = None
    permit_on: str | None = None
    loan_on: str | None = None
    loan_amount: int | None = None
    bank: str | None = None
    case_no: str | None = None

    def values(self) -> tuple[object, ...]:
        """The columns' values in COLUMNS order."""
        return tuple(getattr(self, name) for name in COLUMNS)


@dataclass(frozen=True)
class RosterEntry:
    """A stored roster row: the record plus what the bot did with it."""

    id: int
    record: RosterRecord
    user_pk: int | None
    linked_at: int | None
    linked_via: str | None
    link_token: str
    do_not_contact: bool
    on_bale: bool | None
    invited_at: int | None
    invited_via: str | None
    reminded_at: int | None



def new_link_token() -> str:
    """An unguessable personal start token: 96 random bits, fit for /start (A-Z a-z 0-9 _ -),
    never starting with the "do not contact me" link's prefix (bot.roster.invitation)."""
    while True:
        token = secrets.token_urlsafe(12)
        if not token.startswith("nc-"):  # 1 in 262,144 would read as a do-not-contact link
            return token

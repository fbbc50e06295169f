"""The services every handler and job uses, opened once per process."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.loader import default_content_path, load_content
from bot.content.model import Content, ContentError
from bot.content.references import label_problems
from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.i18n import I18n, load_i18n
from bot.db.open import AnyDatabase, open_database
from bot.repo.staff import StaffRepo
from bot.repo.steps import StepRepo
from bot.repo.users import UserRepo


@dataclass
class Services:
    """Database, repositories, content, translations and the clock."""

    settings: Settings
    db: AnyDatabase
    users: UserRepo
    steps: StepRepo
    content: Content
    i18n: I18n
    clock: Clock

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock | None = None) -> Services:
        """Load and validate content (and the labels texts refer to), open the database and
        build the repositories."""
        content = load_content(settings.content_path or default_content_path())
        i18n = load_i18n()
        problems = label_problems(content, i18n)
        if problems:  # each line names its own file: content.yaml or a locale file
            raise ContentError("", problems)
        db = await open_database(settings)
        clock = clock or Clock()
        await StaffRepo(db).ensure_admins(settings.admins, clock.timestamp())
        return cls(
            settings=settings,
            db=db,
            users=UserRepo(db),
            steps=StepRepo(db),
            content=content,
            i18n=i18n,
            clock=clock,
        )

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()

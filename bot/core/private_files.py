"""Files holding personal data (exports, charts of applicants): owner-only (0600) from creation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

__all__ = ["owner_only", "temporary", "write_private"]


def temporary(path: Path) -> Path:
    """A sibling file to write before renaming over ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def owner_only(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """Open a new file that is 0600 from its creation (no window where others may read it)."""
    path.unlink(missing_ok=True)  # a stale temporary from a crash with the same pid
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to an owner-only file that appears under its name only when complete."""
    target = Path(path)
    staging = temporary(target)
    try:
        with owner_only(staging, "wb") as handle:
            handle.write(data)
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target

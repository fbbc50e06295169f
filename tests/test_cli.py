"""The `homebiz` command: settings errors in one line, the scripted console, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _homebiz(
    args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess:
    """Run the real console script's module in a clean environment."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BALE_", "HOMEBIZ_"))
    }
    clean.update(env)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean,
        timeout=60,
    )


def test_chat_is_scriptable_and_resumes_from_the_database(tmp_path: Path) -> None:
    """Lines on stdin drive the bot; a second session continues where the first stopped."""
    first = _homebiz(["chat"], tmp_path, "/start\n1\n1\nزهرا احمدی\n")
    assert first.returncode == 0, first.stderr
    assert "[1] فارسی  [2] English" in first.stdout
    assert "شماره همراه" in first.stdout
    assert (tmp_path / "data" / "homebiz.sqlite3").exists()
    assert oct((tmp_path / "data" / "homebiz.sqlite3").stat().st_mode & 0o777) == "0o600"
    second = _homebiz(["chat"], tmp_path, "09123456789\n")
    assert "کد ملی" in second.stdout, second.stdout


def test_run_without_token_says_what_to_set(tmp_path: Path) -> None:
    """`homebiz run` with no token stops with one line naming the settings."""
    result = _homebiz(["run"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "homebiz chat" in result.stderr


def test_malformed_token_is_named_but_never_printed(tmp_path: Path) -> None:
    """A bad token stops start-up; the message names the variable, not the value."""
    result = _homebiz(["run"], tmp_path, TELEGRAM_BOT_TOKEN="not-a-token-secret-value")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "secret-value" not in result.stderr


def test_broken_content_stops_start_with_file_and_key(tmp_path: Path) -> None:
    """A content file with a missing language stops the console with the key named."""
    broken = tmp_path / "content.yaml"
    text = (ROOT / "locales" / "content.yaml").read_text(encoding="utf-8")
    broken.write_text(
        text.replace("programme:\n  name:", "programme:\n  nme:", 1), encoding="utf-8"
    )
    result = _homebiz(["chat"], tmp_path, "/start\n", HOMEBIZ_CONTENT=str(broken))
    assert result.returncode == 2
    assert "content.yaml" in result.stderr and "programme" in result.stderr


def test_migrate_reports_the_schema_version(tmp_path: Path) -> None:
    """`homebiz migrate` creates the file and applies every migration once."""
    result = _homebiz(["--db", str(tmp_path / "x.sqlite3"), "migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "applied 001_guide.sql" in result.stdout
    again = _homebiz(["--db", str(tmp_path / "x.sqlite3"), "migrate"], tmp_path)
    assert "applied" not in again.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HOMEBIZ_ADMINS": "telegram:abc"}, "HOMEBIZ_ADMINS"),
        ({"HOMEBIZ_LOCALE": "de"}, "HOMEBIZ_LOCALE"),
        (
            {"TELEGRAM_BOT_TOKEN": "123:abcdefghijklmn", "TELEGRAM_API_URL": "ftp://x"},
            "TELEGRAM_API_URL",
        ),
        (
            {"BALE_BOT_TOKEN": "123:abcdefghijklmn", "BALE_WEBHOOK_URL": "https://x.example"},
            "BALE_WEBHOOK_SECRET",
        ),
        ({"HOMEBIZ_LOG_LEVEL": "LOUD"}, "HOMEBIZ_LOG_LEVEL"),
        ({"HOMEBIZ_OUTBOX_LEASE": "2"}, "HOMEBIZ_OUTBOX_LEASE"),
        ({"HOMEBIZ_OUTBOX_LEASE": "half a minute"}, "HOMEBIZ_OUTBOX_LEASE"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], named: str) -> None:
    """Each malformed setting raises ConfigError naming it."""
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_settings_parse_both_platforms_and_admins() -> None:
    """Tokens, URLs and admins are read; Bale's default URL and file URL are derived."""
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": "123:abcdefghijklmn",
            "BALE_BOT_TOKEN": "456:abcdefghijklmn",
            "HOMEBIZ_ADMINS": "telegram:1, bale:99999999999",
        }
    )
    bale = settings.platform("bale")
    assert bale is not None and bale.api_url == "https://tapi.bale.ai/bot"
    assert bale.file_url == "https://tapi.bale.ai/file/bot"
    assert settings.admins == frozenset({("telegram", 1), ("bale", 99999999999)})
    assert "abcdefghijklmn" not in repr(settings)
    assert settings.outbox_lease == 30
    assert load_settings({"HOMEBIZ_OUTBOX_LEASE": "5"}).outbox_lease == 5

"""The `homebiz` command: settings errors in one line, the scripted console, migrations."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.config import ConfigError, load_settings
from tests.support.stores import Store

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
        [sys.executable, "-m", "bot", *args],
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


def test_migrate_reports_the_schema_version(tmp_path: Path, store: Store) -> None:
    """`homebiz migrate` creates the file (or schema) and applies every migration once."""
    db = str(store.target(tmp_path / "x.sqlite3"))
    result = _homebiz(["--db", db, "migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "applied 001_guide.sql" in result.stdout
    again = _homebiz(["--db", db, "migrate"], tmp_path)
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
        ({"HOMEBIZ_WEB_PORT": "eighty"}, "HOMEBIZ_WEB_PORT"),
        ({"HOMEBIZ_WEB_PORT": "70000"}, "HOMEBIZ_WEB_PORT"),
        ({"HOMEBIZ_WEB_PORT": "8080", "HOMEBIZ_WEB_URL": "console.example"}, "HOMEBIZ_WEB_URL"),
        ({"HOMEBIZ_WEB_PORT": "8080", "HOMEBIZ_WEB_LISTEN": "999.1.1.1"}, "HOMEBIZ_WEB_LISTEN"),
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


def test_the_console_is_off_unless_a_port_is_set() -> None:
    """No HOMEBIZ_WEB_PORT: no console; with it, links point at HOMEBIZ_WEB_URL or the listener."""
    assert load_settings({}).web is None
    local = load_settings({"HOMEBIZ_WEB_PORT": "8080"}).web
    assert local is not None and local.base_url == "http://127.0.0.1:8080" and not local.secure
    public = load_settings(
        {"HOMEBIZ_WEB_PORT": "8080", "HOMEBIZ_WEB_URL": "https://desk.example.ir/"}
    ).web
    assert public is not None and public.base_url == "https://desk.example.ir" and public.secure


# --- start-up refuses bad settings in one line (issue 8, section 5) -----------------------------
@pytest.fixture
def kept_logging() -> Iterator[None]:
    """Undo what ``main`` does to logging when it gets as far as setting it up."""
    from bot.core.logs import LIBRARY_LEVELS

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


@pytest.fixture
def clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kept_logging: None
) -> pytest.MonkeyPatch:
    """No bot settings from the outer environment; a working directory without a .env file."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "BALE_", "HOMEBIZ_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOMEBIZ_DB", str(tmp_path / "bot.sqlite3"))
    return monkeypatch


def _main_fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``bot.entry.cli.main``; it must exit 2 having printed exactly one line on stderr."""
    from bot.entry.cli import main

    status = main(args)
    out, err = capsys.readouterr()
    assert status == 2, (status, out, err)
    assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
    return err.rstrip("\n")


WEBHOOK = {
    "TELEGRAM_BOT_TOKEN": "123:abcdefghijklmn",
    "TELEGRAM_WEBHOOK_URL": "https://bot.example.org",
    "TELEGRAM_WEBHOOK_SECRET": "s" * 20,
}


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("TELEGRAM_WEBHOOK_PORT", "99999", "99999 is not a port number (1-65535)"),
        ("TELEGRAM_WEBHOOK_PORT", "0", "0 is not a port number (1-65535)"),
        ("TELEGRAM_WEBHOOK_PORT", "-5", "-5 is not a port number (1-65535)"),
        ("TELEGRAM_WEBHOOK_PORT", "84a3", "'84a3' is not a whole number"),
        (
            "TELEGRAM_WEBHOOK_LISTEN",
            "999.1.1.1",
            "'999.1.1.1' is not an IPv4 or IPv6 address or a host name "
            "(e.g. 0.0.0.0, 127.0.0.1, :: or localhost)",
        ),
        (
            "BALE_WEBHOOK_LISTEN",
            "bad host!",
            "'bad host!' is not an IPv4 or IPv6 address or a host name "
            "(e.g. 0.0.0.0, 127.0.0.1, :: or localhost)",
        ),
    ],
)
def test_bad_webhook_settings_stop_start_in_one_line(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    line: str,
) -> None:
    """A port out of 1-65535 (0 included) or a malformed listen address: one line, exit 2."""
    settings = dict(WEBHOOK)
    if name.startswith("BALE_"):
        settings = {k.replace("TELEGRAM_", "BALE_"): v for k, v in settings.items()}
    for key, setting in {**settings, name: value}.items():
        clean_env.setenv(key, setting)
    # every command validates every setting; migrate would not reach out if one slipped through
    assert _main_fails(["migrate"], capsys) == f"homebiz: configuration error: {name}: {line}"


@pytest.mark.parametrize("listen", ["127.0.0.1", "::", "::1", "localhost", "bot-1.internal"])
def test_good_listen_addresses_are_kept(listen: str) -> None:
    """IPv4, IPv6 and host names are accepted as written."""
    settings = load_settings({**WEBHOOK, "TELEGRAM_WEBHOOK_LISTEN": listen})
    platform = settings.platform("telegram")
    assert platform is not None and platform.webhook_listen == listen
    assert platform.webhook_port == 8443


def test_a_directory_as_database_is_refused(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """HOMEBIZ_DB naming a directory: one line that suggests a file in it."""
    clean_env.setenv("HOMEBIZ_DB", str(tmp_path))
    assert _main_fails(["migrate"], capsys) == (
        f"homebiz: configuration error: HOMEBIZ_DB: {tmp_path} is a directory; "
        f"give a file in it (e.g. {tmp_path / 'homebiz.sqlite3'})"
    )


def test_a_database_under_a_regular_file_is_refused(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A path whose parent is a regular file cannot be created, even by root."""
    (tmp_path / "notes.txt").write_text("x")
    path = tmp_path / "notes.txt" / "data" / "bot.sqlite3"
    clean_env.setenv("HOMEBIZ_DB", str(path))
    assert _main_fails(["migrate"], capsys) == (
        f"homebiz: configuration error: HOMEBIZ_DB: {path} cannot be created: "
        f"{tmp_path / 'notes.txt'} is a file, not a folder"
    )
    assert _main_fails(["--db", str(path), "stats"], capsys).startswith(
        "homebiz: configuration error: --db: "
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_database_in_a_read_only_directory_is_refused(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A folder the process cannot write: one line naming it."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        clean_env.setenv("HOMEBIZ_DB", str(folder / "bot.sqlite3"))
        assert _main_fails(["migrate"], capsys) == (
            f"homebiz: configuration error: HOMEBIZ_DB: {folder / 'bot.sqlite3'} "
            f"cannot be created: {folder} is not writable"
        )
    finally:
        folder.chmod(0o700)


def test_a_yaml_mistake_in_a_locale_file_is_one_line(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A text with an unquoted colon in fa.yaml: file, line, column and the fix, in one line."""
    from bot.core.i18n import load_i18n
    from bot.entry import services

    locales = tmp_path / "locales"
    locales.mkdir()
    for name in ("fa.yaml", "en.yaml"):
        (locales / name).write_text(
            (ROOT / "locales" / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    fa = (locales / "fa.yaml").read_text(encoding="utf-8").splitlines()
    line = fa.index("menu:") + 1
    fa.insert(line, "  hours: ساعت کار: ۹ تا ۱۷")
    (locales / "fa.yaml").write_text("\n".join(fa) + "\n", encoding="utf-8")
    clean_env.setattr(services, "load_i18n", lambda: load_i18n(locales))
    message = _main_fails(["stats"], capsys)
    assert re.fullmatch(
        rf"homebiz: cannot start: locales/fa\.yaml: line {line + 1}, column \d+: "
        r"YAML syntax error: mapping values are not allowed here "
        r'\(a text containing ":" must be in "double quotes"\)',
        message,
    ), message


def test_a_placeholder_in_one_language_of_the_content_is_refused(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """{name} written in the Persian text of a content entry only: the file and key, one line."""
    text = (ROOT / "locales" / "content.yaml").read_text(encoding="utf-8")
    persian = 'fa: "کسب‌وکار خانگی چیست؟"'
    assert text.count(persian) == 1
    broken = tmp_path / "content.yaml"
    broken.write_text(text.replace(persian, 'fa: "{name}، کسب‌وکار خانگی چیست؟"'), "utf-8")
    clean_env.setenv("HOMEBIZ_CONTENT", str(broken))
    message = _main_fails(["stats"], capsys)
    assert re.fullmatch(
        rf"homebiz: cannot start: {re.escape(str(broken))}: faq\[0\]\.q: "
        r"\{name\} is in 'fa' but not in 'en' \(line \d+\)",
        message,
    ), message


def test_stats_writes_the_chart_owner_only(tmp_path: Path) -> None:
    """`homebiz stats --chart PATH`: the figures on stdout and the /stats chart as a PNG that
    only its owner can read, even under umask 0."""
    old = os.umask(0)
    try:
        result = _homebiz(["stats", "--chart", "chart.png"], tmp_path)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert "📊" in result.stdout and "کل متقاضیان: ۰" in result.stdout
    png = tmp_path / "chart.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
    assert oct(png.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    english = _homebiz(["stats", "--lang", "en", "--chart", str(tmp_path / "en.png")], tmp_path)
    assert english.returncode == 0 and "Applicants: 0" in english.stdout
    assert (tmp_path / "en.png").stat().st_size > 10_000

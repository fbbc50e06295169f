"""`homebiz roster template|import`: the same template and dry run from the command line, with
--commit (and --skip-rejected) instead of buttons."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from tests.support.stores import Store
from tests.test_cli import _homebiz
from tests.test_roster_import import ZAHRA


def test_template_dry_run_then_commit(tmp_path: Path, store: Store) -> None:
    """Template → filled with one good and one bad row → a dry run writes nothing and names
    the bad row; --commit refuses while a row is rejected; --skip-rejected imports the good one."""
    db = str(store.target(tmp_path / "cli.sqlite3"))  # a file, or the test's schema URL
    made = _homebiz(["--db", db, "roster", "template", "template.xlsx", "--lang", "en"], tmp_path)
    assert made.returncode == 0, made.stderr
    book = load_workbook(tmp_path / "template.xlsx")
    sheet = book.worksheets[0]
    assert sheet["A1"].value == "National code" and sheet["C1"].value == "Mobile"
    sheet.append([ZAHRA.national_code, "زهرا احمدي", "0912 123 4567", "كرج", None, "۱۴۰۲/۰۵/۱۲"])
    sheet.append(["0012345678", "Ali", "09121112233"])
    book.save(tmp_path / "filled.xlsx")

    dry = _homebiz(["--db", db, "roster", "import", "filled.xlsx", "--lang", "en"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Rows read: 2" in dry.stdout and "rejected: 1" in dry.stdout
    assert "• row 3, National code: the check digit does not match" in dry.stdout
    assert "dry run only: nothing written; add --commit to import" in dry.stdout
    rejected = tmp_path / "filled-rejected.xlsx"
    assert f"rejected rows: wrote {rejected.name}" in dry.stdout
    assert rejected.stat().st_mode & 0o777 == 0o600

    refused = _homebiz(["--db", db, "roster", "import", "filled.xlsx", "--commit"], tmp_path)
    assert refused.returncode == 1
    assert "not imported: 1 rows were rejected" in refused.stdout
    assert store.query(db, "SELECT COUNT(*) FROM roster") == [(0,)]

    args = ["--db", db, "roster", "import", "filled.xlsx", "--commit", "--skip-rejected"]
    done = _homebiz([*args, "--lang", "en"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Imported into the list: 1 new, 0 updated" in done.stdout
    assert "1 rejected rows were left out." in done.stdout
    stored = store.query(db, "SELECT national_code, full_name, county, permit_on FROM roster")
    assert stored == [(ZAHRA.national_code, "زهرا احمدی", "karaj", "2023-08-03")]
    audit = store.query(db, "SELECT platform, action FROM audit ORDER BY id")
    assert audit[-1] == ("cli", "roster_import")
    assert store.query(db, "SELECT COUNT(*) FROM roster_import_rows") == [(0,)]


def test_a_missing_or_unreadable_file_says_so(tmp_path: Path) -> None:
    """No such file, or an old .xls: one line and exit status 1 (the file is refused before
    any row is read: one engine is enough)."""
    db = str(tmp_path / "cli.sqlite3")
    missing = _homebiz(["--db", db, "roster", "import", "nope.xlsx"], tmp_path)
    assert missing.returncode == 1 and "nope.xlsx: no such file" in missing.stdout
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    old = _homebiz(["--db", db, "roster", "import", "old.xls", "--lang", "en"], tmp_path)
    assert old.returncode == 1 and ".xls" in old.stdout

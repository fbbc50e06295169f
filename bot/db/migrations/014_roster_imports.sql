-- Schema 14: roster imports. A file is read into staging rows first (the dry run); nothing
-- reaches `roster` until the staff member confirms, and then chunk by chunk, each chunk a short
-- transaction that moves the import's cursor (a restart continues where it stopped). Staging
-- rows and problems hold personal data only until the import is committed or discarded; the
-- import's own row keeps counts only. A row the list changes keeps its previous values in
-- roster_history.
CREATE TABLE roster_imports (
    id           INTEGER PRIMARY KEY,
    platform     TEXT    NOT NULL,              -- the staff member's messenger, or 'cli'
    actor        INTEGER NOT NULL,              -- their user id (the OS user id for 'cli')
    kind         TEXT    NOT NULL,              -- xlsx | csv
    status       TEXT    NOT NULL DEFAULT 'staging',
                                                -- staging | staged | committing | committed
                                                -- | discarded
    rows_read    INTEGER NOT NULL DEFAULT 0,    -- non-empty data rows in the file
    new_rows     INTEGER NOT NULL DEFAULT 0,    -- dry run's figures, then the commit's
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,    -- rows with at least one problem
    partial      INTEGER NOT NULL DEFAULT 0,    -- 1: committed its valid rows despite rejected ones
    cursor       INTEGER NOT NULL DEFAULT 0,    -- last spreadsheet row the commit has handled
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX roster_imports_status ON roster_imports (status, created_at);

-- One row per spreadsheet row whose national code is valid (ok = 0: it has a problem, so it is
-- never written); `line` is the row number the spreadsheet shows.
CREATE TABLE roster_import_rows (
    import_id     INTEGER NOT NULL REFERENCES roster_imports(id) ON DELETE CASCADE,
    line          INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    national_code TEXT    NOT NULL,
    full_name     TEXT,
    mobile        TEXT,
    county        TEXT,
    field         TEXT,
    permit_on     TEXT,
    loan_on       TEXT,
    loan_amount   INTEGER,
    bank          TEXT,
    case_no       TEXT,
    PRIMARY KEY (import_id, line)
) WITHOUT ROWID;
CREATE INDEX roster_import_rows_code ON roster_import_rows (import_id, national_code, line);

-- Every problem of a rejected row: the column (a roster column name), the problem's code
-- (a validator's, or county.unknown, duplicate, …), what the cell held (cut short) and a number
-- the problem refers to (the earlier row of a duplicate).
CREATE TABLE roster_import_problems (
    import_id  INTEGER NOT NULL REFERENCES roster_imports(id) ON DELETE CASCADE,
    line       INTEGER NOT NULL,
    col        TEXT    NOT NULL,
    code       TEXT    NOT NULL,
    value      TEXT,
    arg        INTEGER
);
CREATE INDEX roster_import_problems_line ON roster_import_problems (import_id, line);

-- A roster row's values before an import changed them, and which columns it changed.
CREATE TABLE roster_history (
    id          INTEGER PRIMARY KEY,
    roster_id   INTEGER NOT NULL REFERENCES roster(id) ON DELETE CASCADE,
    import_id   INTEGER REFERENCES roster_imports(id) ON DELETE SET NULL,
    changed_at  INTEGER NOT NULL,
    changed     TEXT    NOT NULL,               -- e.g. "mobile,loan_on"
    full_name   TEXT,
    mobile      TEXT,
    county      TEXT,
    field       TEXT,
    permit_on   TEXT,
    loan_on     TEXT,
    loan_amount INTEGER,
    bank        TEXT,
    case_no     TEXT
);
CREATE INDEX roster_history_roster ON roster_history (roster_id, id);

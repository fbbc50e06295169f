-- Schema 1: applicants, their conversation state and their permit-step progress.
-- Times are Unix seconds (UTC); dates are ISO 'YYYY-MM-DD' (Gregorian).
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    platform       TEXT    NOT NULL,
    user_id        INTEGER NOT NULL,
    chat_id        INTEGER NOT NULL,
    lang           TEXT    NOT NULL DEFAULT 'fa',
    consent_at     INTEGER,
    full_name      TEXT,
    mobile         TEXT,
    national_code  TEXT,
    county         TEXT,
    field          TEXT,
    stage          TEXT,
    profile_done   INTEGER NOT NULL DEFAULT 0,
    proactive      INTEGER NOT NULL DEFAULT 1,
    unreachable_at INTEGER,
    state          TEXT    NOT NULL DEFAULT '',
    state_data     TEXT    NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (platform, user_id)
);

CREATE TABLE step_progress (
    user_pk    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    step_id    TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    done_at    INTEGER,
    help_at    INTEGER,
    PRIMARY KEY (user_pk, step_id)
) WITHOUT ROWID;

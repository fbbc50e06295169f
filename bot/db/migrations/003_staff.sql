-- Schema 3: staff roles, the audit log, broadcasts and the support inbox.
CREATE TABLE staff (
    platform TEXT    NOT NULL,
    user_id  INTEGER NOT NULL,
    role     TEXT    NOT NULL CHECK (role IN ('admin', 'staff')),
    added_by INTEGER,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

-- Who did what, when: staff actions and refused attempts.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    platform TEXT    NOT NULL,
    actor    INTEGER NOT NULL,
    action   TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at);

-- status: scheduled, queued, done, cancelled. content: {"texts": {"fa": …, "en": …},
-- "photo": file_id, "document": file_id}; audience: the filters chosen.
CREATE TABLE broadcasts (
    id                INTEGER PRIMARY KEY,
    platform          TEXT    NOT NULL,
    created_by        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    content           TEXT    NOT NULL,
    audience          TEXT    NOT NULL,
    send_at           INTEGER NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'queued',
    total             INTEGER NOT NULL DEFAULT 0,
    status_chat_id    INTEGER,
    status_message_id INTEGER,
    finished_at       INTEGER
);

-- A conversation between one applicant and the staff. kind: question or a follow-up kind.
CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    platform    TEXT    NOT NULL,
    user_pk     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL DEFAULT 'question',
    followup_id INTEGER REFERENCES followups(id) ON DELETE SET NULL,
    status      TEXT    NOT NULL DEFAULT 'open',
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    closed_by   INTEGER
);
CREATE INDEX tickets_user ON tickets (user_pk, status);

-- Each message of a ticket; staff_message_id is its copy (or card) in the staff chat,
-- so a staff reply to it finds the ticket.
CREATE TABLE ticket_messages (
    id               INTEGER PRIMARY KEY,
    ticket_id        INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    direction        TEXT    NOT NULL CHECK (direction IN ('in', 'out', 'card')),
    kind             TEXT    NOT NULL,
    text             TEXT,
    staff_chat_id    INTEGER,
    staff_message_id INTEGER,
    at               INTEGER NOT NULL
);
CREATE INDEX ticket_messages_staff ON ticket_messages (staff_chat_id, staff_message_id);

ALTER TABLE followups ADD COLUMN posted_at INTEGER;

-- A blocked person's other pending rows are found without reading the whole platform.
CREATE INDEX outbox_pending_chat ON outbox (platform, chat_id) WHERE status = 'pending';

-- Schema 2: milestones, check-in rounds and their answers, staff follow-ups, nudges, the outbox.
ALTER TABLE users ADD COLUMN permit_on TEXT;
ALTER TABLE users ADD COLUMN loan_on TEXT;
ALTER TABLE users ADD COLUMN operating_since TEXT;
-- Check-ins for this person: when the next round is due (NULL: none planned),
-- a pause's restart date, and whether they stopped for good (closed).
ALTER TABLE users ADD COLUMN next_checkin_at INTEGER;
ALTER TABLE users ADD COLUMN paused_until TEXT;
ALTER TABLE users ADD COLUMN checkins_closed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_next_checkin ON users (next_checkin_at) WHERE next_checkin_at IS NOT NULL;

ALTER TABLE step_progress ADD COLUMN nudges_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE step_progress ADD COLUMN last_nudge_at INTEGER;
CREATE INDEX step_progress_open ON step_progress (started_at) WHERE done_at IS NULL;

-- One round of "is your business still operating?".
-- status: open (sent, waiting), answered, no_answer.
CREATE TABLE checkin_rounds (
    id             INTEGER PRIMARY KEY,
    user_pk        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    due_at         INTEGER NOT NULL,
    sent_at        INTEGER NOT NULL,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL DEFAULT 'open',
    closed_at      INTEGER
);
CREATE INDEX checkin_rounds_user ON checkin_rounds (user_pk, id);
CREATE INDEX checkin_rounds_open ON checkin_rounds (sent_at) WHERE status = 'open';

-- Every answer with its time: a history, never one overwritten field.
-- status: operating, problems, paused, closed, no_answer; detail is JSON.
CREATE TABLE checkin_answers (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER REFERENCES checkin_rounds(id) ON DELETE CASCADE,
    user_pk     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '{}',
    answered_at INTEGER NOT NULL
);
CREATE INDEX checkin_answers_user ON checkin_answers (user_pk, answered_at);

-- Staff follow-up list: kind is problems, closed, no_answer or step_help.
CREATE TABLE followups (
    id         INTEGER PRIMARY KEY,
    user_pk    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'open',
    closed_at  INTEGER
);
CREATE INDEX followups_open ON followups (status, created_at);

-- Every proactive message. status: pending, sending, sent, failed, cancelled.
-- priority: lower goes first (10 check-ins, reminders, nudges, staff replies; 50 broadcasts).
-- dedupe_key makes enqueueing idempotent (e.g. 'checkin:<round>', 'bc:<id>:<user>').
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    platform        TEXT    NOT NULL,
    chat_id         INTEGER NOT NULL,
    user_pk         INTEGER REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 10,
    payload         TEXT    NOT NULL,
    dedupe_key      TEXT    UNIQUE,
    broadcast_id    INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    message_id      INTEGER,
    error           TEXT
);
CREATE INDEX outbox_due ON outbox (platform, priority, not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_sending ON outbox (platform) WHERE status = 'sending';
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status) WHERE broadcast_id IS NOT NULL;

-- PostgreSQL twin of ../022_updates_inbox.sql (the same tables, columns and indexes; ids and
-- times are BIGINT). The webhook updates a replica acknowledged, kept until handled (a
-- redelivered update_id is dropped by the primary key; a handled update's body is emptied),
-- and whose turn each chat is.
CREATE TABLE updates_inbox (
    platform    TEXT    NOT NULL,
    update_id   BIGINT  NOT NULL,
    chat_key    BIGINT  NOT NULL,
    body        TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    done_at     BIGINT,
    PRIMARY KEY (platform, update_id)
);
CREATE INDEX updates_inbox_pending ON updates_inbox (platform, chat_key, update_id)
    WHERE done_at IS NULL;
CREATE INDEX updates_inbox_done ON updates_inbox (done_at) WHERE done_at IS NOT NULL;

CREATE TABLE chat_turns (
    platform    TEXT    NOT NULL,
    chat_key    BIGINT  NOT NULL,
    owner       TEXT    NOT NULL,
    lease_until BIGINT  NOT NULL,
    PRIMARY KEY (platform, chat_key)
);

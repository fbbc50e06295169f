-- PostgreSQL twin of ../017_web_console.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 17 (issue 12, the staff console): one-time login links, sessions and county scopes.
-- Only hashes of the link and session tokens are kept: a copy of the database opens nothing.
CREATE TABLE web_logins (
    token_hash TEXT    PRIMARY KEY,
    platform   TEXT    NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX web_logins_staff ON web_logins (platform, user_id, created_at);

-- A session ends after idle_until (a working day without a request) or at logout.
CREATE TABLE web_sessions (
    id_hash    TEXT    PRIMARY KEY,
    platform   TEXT    NOT NULL,
    user_id    BIGINT NOT NULL,
    csrf       TEXT    NOT NULL,
    lang       TEXT    NOT NULL DEFAULT 'fa',
    created_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    idle_until BIGINT NOT NULL
);
CREATE INDEX web_sessions_staff ON web_sessions (platform, user_id);

-- A staff member with rows here sees and acts only on these counties; none: every county.
CREATE TABLE staff_counties (
    platform TEXT    NOT NULL,
    user_id  BIGINT NOT NULL,
    county   TEXT    NOT NULL,
    PRIMARY KEY (platform, user_id, county)
);

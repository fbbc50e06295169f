-- Schema 11: the programme's list of loan recipients (the roster). One row per person on the
-- list, keyed by national code; the programme's own record, kept when a linked person erases
-- their data (they are then marked do-not-contact). Dates are ISO (YYYY-MM-DD), times epoch s.
CREATE TABLE roster (
    id             INTEGER PRIMARY KEY,
    national_code  TEXT    NOT NULL UNIQUE,
    full_name      TEXT    NOT NULL,
    mobile         TEXT    NOT NULL,            -- +989…, as the bot stores mobiles
    county         TEXT,                        -- the content's county id
    field          TEXT,                        -- the content's field id
    permit_on      TEXT,
    loan_on        TEXT,
    loan_amount    INTEGER,                     -- rials
    bank           TEXT,
    case_no        TEXT,
    user_pk        INTEGER UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    linked_at      INTEGER,
    linked_via     TEXT,                        -- contact | link | import
    link_token     TEXT    NOT NULL UNIQUE,     -- the personal start token; replaced to revoke
    do_not_contact INTEGER NOT NULL DEFAULT 0,
    on_bale        INTEGER,                     -- NULL unknown, 0 Safir says not on Bale
    invited_at     INTEGER,
    invited_via    TEXT,                        -- safir | link
    reminded_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX roster_mobile ON roster (mobile);
CREATE INDEX roster_county_field ON roster (county, field);

-- A mobile the person shared as their own contact card (not typed) can link them to the list.
ALTER TABLE users ADD COLUMN mobile_verified INTEGER NOT NULL DEFAULT 0;
-- Where permit_on / loan_on came from: 'self' (the person said) or 'roster' (the list).
ALTER TABLE users ADD COLUMN dates_from TEXT NOT NULL DEFAULT 'self';

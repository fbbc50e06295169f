-- Schema 21 (issue 12, the console's Applicants pages): finding a person among a million by
-- mobile, national code or name, listing applicants page by page under the audience filters,
-- counting them without reading them, and a person's page in a handful of indexed reads.

-- A mobile or national code as staff type it is normalised first (bot.core.validators), then
-- found by equality.
CREATE INDEX users_mobile ON users (mobile);
CREATE INDEX users_national_code ON users (national_code);

-- Names, as a key that ignores how they were typed: no ZWNJ, tatweel or hamza above, the
-- Persian ی and ک for their Arabic look-alikes, ASCII letters in lower case. The same key is
-- made in Python by bot.rules.applicant_search.name_key (a test keeps the two the same).
-- name_rest is the name from its second word on and name_last its last word, so a prefix of
-- the first, second or last word finds the person through a b-tree index. A b-tree (not an
-- FTS5 index) because an erased person's name must leave the file: secure_delete zeroes a
-- b-tree's freed cells, while FTS5 in SQLite 3.40 keeps deleted terms in older segments until
-- they happen to be merged.
ALTER TABLE users ADD COLUMN name_key TEXT GENERATED ALWAYS AS (
    replace(replace(replace(replace(replace(replace(replace(replace(lower(full_name),
        char(8204), ''), char(1600), ''), char(1620), ''), char(1610), char(1740)),
        char(1609), char(1740)), char(1603), char(1705)), char(1728), char(1607)), char(8205), '')
) VIRTUAL;
ALTER TABLE users ADD COLUMN name_rest TEXT GENERATED ALWAYS AS (
    substr(name_key, instr(name_key, ' ') + 1)
) VIRTUAL;
ALTER TABLE users ADD COLUMN name_last TEXT GENERATED ALWAYS AS (
    substr(name_key, length(rtrim(name_key, replace(name_key, ' ', ''))) + 1)
) VIRTUAL;
CREATE INDEX users_name_key ON users (name_key) WHERE consent_at IS NOT NULL;
CREATE INDEX users_name_rest ON users (name_rest) WHERE consent_at IS NOT NULL;
CREATE INDEX users_name_last ON users (name_last) WHERE consent_at IS NOT NULL;

-- How many consenting people (whether or not they stopped messages or are unreachable) share
-- each combination of the audience filters: the applicants page's exact count for filters
-- alone, and the figures that choose how a filtered page is read. Kept exact by triggers on
-- users, like audience_cells (schema 8), which counts only the reachable.
CREATE TABLE applicant_cells (
    platform       TEXT    NOT NULL,
    county         TEXT,
    field          TEXT,
    stage          TEXT,
    lang           TEXT    NOT NULL,
    checkin_status TEXT,
    people         INTEGER NOT NULL
);
CREATE INDEX applicant_cells_key
    ON applicant_cells (platform, county, field, stage, lang, checkin_status);
INSERT INTO applicant_cells (platform, county, field, stage, lang, checkin_status, people)
SELECT platform, county, field, stage, lang, checkin_status, COUNT(*) FROM users
WHERE consent_at IS NOT NULL
GROUP BY platform, county, field, stage, lang, checkin_status;

CREATE TRIGGER users_applicant_cells_insert AFTER INSERT ON users
WHEN NEW.consent_at IS NOT NULL
BEGIN
    INSERT INTO applicant_cells (platform, county, field, stage, lang, checkin_status, people)
    SELECT NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang, NEW.checkin_status, 0
    WHERE NOT EXISTS (
        SELECT 1 FROM applicant_cells WHERE platform = NEW.platform AND county IS NEW.county
        AND field IS NEW.field AND stage IS NEW.stage AND lang = NEW.lang
        AND checkin_status IS NEW.checkin_status
    );
    UPDATE applicant_cells SET people = people + 1
    WHERE platform = NEW.platform AND county IS NEW.county AND field IS NEW.field
      AND stage IS NEW.stage AND lang = NEW.lang AND checkin_status IS NEW.checkin_status;
END;

CREATE TRIGGER users_applicant_cells_delete AFTER DELETE ON users
WHEN OLD.consent_at IS NOT NULL
BEGIN
    UPDATE applicant_cells SET people = people - 1
    WHERE platform = OLD.platform AND county IS OLD.county AND field IS OLD.field
      AND stage IS OLD.stage AND lang = OLD.lang AND checkin_status IS OLD.checkin_status;
END;

CREATE TRIGGER users_applicant_cells_update AFTER UPDATE OF
    platform, county, field, stage, lang, checkin_status, consent_at
ON users
WHEN (OLD.consent_at IS NOT NULL) IS NOT (NEW.consent_at IS NOT NULL)
  OR (NEW.consent_at IS NOT NULL
      AND (OLD.platform IS NOT NEW.platform OR OLD.county IS NOT NEW.county
           OR OLD.field IS NOT NEW.field OR OLD.stage IS NOT NEW.stage
           OR OLD.lang IS NOT NEW.lang OR OLD.checkin_status IS NOT NEW.checkin_status))
BEGIN
    UPDATE applicant_cells SET people = people - 1
    WHERE OLD.consent_at IS NOT NULL
      AND platform = OLD.platform AND county IS OLD.county AND field IS OLD.field
      AND stage IS OLD.stage AND lang = OLD.lang AND checkin_status IS OLD.checkin_status;
    INSERT INTO applicant_cells (platform, county, field, stage, lang, checkin_status, people)
    SELECT NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang, NEW.checkin_status, 0
    WHERE NEW.consent_at IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM applicant_cells WHERE platform = NEW.platform AND county IS NEW.county
        AND field IS NEW.field AND stage IS NEW.stage AND lang = NEW.lang
        AND checkin_status IS NEW.checkin_status
    );
    UPDATE applicant_cells SET people = people + 1
    WHERE NEW.consent_at IS NOT NULL
      AND platform = NEW.platform AND county IS NEW.county AND field IS NEW.field
      AND stage IS NEW.stage AND lang = NEW.lang AND checkin_status IS NEW.checkin_status;
END;

-- The people at an unfinished step, newest first (the `step` filter).
CREATE INDEX step_progress_open_people ON step_progress (step_id, user_pk) WHERE done_at IS NULL;

-- The messages the bot sent one person, newest first (also spares erasing a person a read of
-- the whole outbox for its ON DELETE CASCADE).
CREATE INDEX outbox_user ON outbox (user_pk, id) WHERE user_pk IS NOT NULL;

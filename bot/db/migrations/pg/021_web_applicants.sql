-- PostgreSQL twin of ../021_web_applicants.sql: finding a person by mobile, national code or
-- name, and applicant_cells kept by a trigger as audience_cells are (see pg/008).
CREATE INDEX users_mobile ON users (mobile);
CREATE INDEX users_national_code ON users (national_code);

-- The name key of bot.rules.applicant_search.name_key, as SQLite's expression makes it: no
-- ZWNJ, tatweel or hamza above, Persian ی and ک for the Arabic look-alikes, ASCII letters (and
-- only those: SQLite's lower()) in lower case. The columns are STORED (PostgreSQL has no
-- virtual ones) and compare byte by byte (COLLATE "C"), as SQLite's do, so a prefix is one
-- range of the index whatever the server's locale.
CREATE FUNCTION homebiz_name_key(name TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(replace(replace(replace(
        translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
        chr(8204), ''), chr(1600), ''), chr(1620), ''), chr(1610), chr(1740)),
        chr(1609), chr(1740)), chr(1603), chr(1705)), chr(1728), chr(1607)), chr(8205), '')
$$;
CREATE FUNCTION homebiz_name_rest(name_key TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(name_key, strpos(name_key, ' ') + 1)
$$;
CREATE FUNCTION homebiz_name_last(name_key TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(name_key, length(rtrim(name_key, replace(name_key, ' ', ''))) + 1)
$$;
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C"
    GENERATED ALWAYS AS (homebiz_name_key(full_name)) STORED;
ALTER TABLE users ADD COLUMN name_rest TEXT COLLATE "C"
    GENERATED ALWAYS AS (homebiz_name_rest(homebiz_name_key(full_name))) STORED;
ALTER TABLE users ADD COLUMN name_last TEXT COLLATE "C"
    GENERATED ALWAYS AS (homebiz_name_last(homebiz_name_key(full_name))) STORED;
CREATE INDEX users_name_key ON users (name_key) WHERE consent_at IS NOT NULL;
CREATE INDEX users_name_rest ON users (name_rest) WHERE consent_at IS NOT NULL;
CREATE INDEX users_name_last ON users (name_last) WHERE consent_at IS NOT NULL;

-- How many consenting people share each combination of the audience filters.
CREATE TABLE applicant_cells (
    platform       TEXT    NOT NULL,
    county         TEXT,
    field          TEXT,
    stage          TEXT,
    lang           TEXT    NOT NULL,
    checkin_status TEXT,
    people         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX applicant_cells_key
    ON applicant_cells (platform, county, field, stage, lang, checkin_status) NULLS NOT DISTINCT;
INSERT INTO applicant_cells (platform, county, field, stage, lang, checkin_status, people)
SELECT platform, county, field, stage, lang, checkin_status, COUNT(*) FROM users
WHERE consent_at IS NOT NULL
GROUP BY platform, county, field, stage, lang, checkin_status;

CREATE FUNCTION applicant_cell_add(p TEXT, c TEXT, f TEXT, s TEXT, l TEXT, k TEXT, delta BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO applicant_cells (platform, county, field, stage, lang, checkin_status, people)
    VALUES (p, c, f, s, l, k, delta)
    ON CONFLICT (platform, county, field, stage, lang, checkin_status)
    DO UPDATE SET people = applicant_cells.people + EXCLUDED.people
$$;

CREATE FUNCTION users_applicant_cells() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.consent_at IS NOT NULL THEN
        PERFORM applicant_cell_add(OLD.platform, OLD.county, OLD.field, OLD.stage, OLD.lang,
                                   OLD.checkin_status, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.consent_at IS NOT NULL THEN
        PERFORM applicant_cell_add(NEW.platform, NEW.county, NEW.field, NEW.stage, NEW.lang,
                                   NEW.checkin_status, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_applicant_cells_insert AFTER INSERT ON users FOR EACH ROW
    WHEN (NEW.consent_at IS NOT NULL) EXECUTE FUNCTION users_applicant_cells();
CREATE TRIGGER users_applicant_cells_delete AFTER DELETE ON users FOR EACH ROW
    WHEN (OLD.consent_at IS NOT NULL) EXECUTE FUNCTION users_applicant_cells();
CREATE TRIGGER users_applicant_cells_update AFTER UPDATE OF
    platform, county, field, stage, lang, checkin_status, consent_at
ON users FOR EACH ROW
WHEN ((OLD.consent_at IS NOT NULL) IS DISTINCT FROM (NEW.consent_at IS NOT NULL)
  OR (NEW.consent_at IS NOT NULL
      AND (OLD.platform IS DISTINCT FROM NEW.platform OR OLD.county IS DISTINCT FROM NEW.county
           OR OLD.field IS DISTINCT FROM NEW.field OR OLD.stage IS DISTINCT FROM NEW.stage
           OR OLD.lang IS DISTINCT FROM NEW.lang
           OR OLD.checkin_status IS DISTINCT FROM NEW.checkin_status)))
EXECUTE FUNCTION users_applicant_cells();

CREATE INDEX step_progress_open_people ON step_progress (step_id, user_pk) WHERE done_at IS NULL;
CREATE INDEX outbox_user ON outbox (user_pk, id) WHERE user_pk IS NOT NULL;

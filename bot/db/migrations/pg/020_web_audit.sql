-- PostgreSQL twin of ../020_web_audit.sql (ids and times BIGINT, bytes BYTEA).
-- Schema 20 (issue 12, the staff console's audit log): pages of the log filtered by action or
-- by actor walk one of these indexes backwards from the newest entry (ids follow each key, as
-- in every SQLite index), and the filters' choices skip from one distinct value to the next.
CREATE INDEX audit_action ON audit (action, id);  -- SQLite keeps the id in every index
CREATE INDEX audit_actor ON audit (platform, actor, id);

-- PostgreSQL twin of ../015_verified_mobiles.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 15: the users who shared their own mobile, for linking them to the roster on import
-- without scanning every applicant (a handful of rows, not the million).
CREATE INDEX users_verified_mobile ON users (mobile) WHERE mobile_verified = 1;

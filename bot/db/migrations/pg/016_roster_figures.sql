-- PostgreSQL twin of ../016_roster_figures.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 16 (issue 11, the figures): one covering index for the roster's figures. /roster stats
-- and the survival over the list read every row of the list; with this index they read it in
-- (loan_on, county, field) order without touching the table: the distinct loan days come from
-- its first column, the head counts are one streaming GROUP BY, and the linked people of one
-- loan day are one range of it.
CREATE INDEX roster_figures ON roster (
    loan_on, county, field, user_pk, linked_via, invited_via, invited_at, on_bale, do_not_contact
);

-- PostgreSQL twin of ../007_reply_keyboard.sql (same tables, columns and indexes; ids, Telegram/Bale
-- ids and times are BIGINT: they exceed 32 bits).
-- Schema 7: which reply keyboard the person has on screen (a digest of its labels; '' none),
-- so a turn can join "done" and "choose from the menu" into one message without sending the
-- same keyboard again. NULL: not known (nothing sent since this column came).
ALTER TABLE users ADD COLUMN keyboard TEXT;

-- Schema 7: which reply keyboard the person has on screen (a digest of its labels; '' none),
-- so a turn can join "done" and "choose from the menu" into one message without sending the
-- same keyboard again. NULL: not known (nothing sent since this column came).
ALTER TABLE users ADD COLUMN keyboard TEXT;

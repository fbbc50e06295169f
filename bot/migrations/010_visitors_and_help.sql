-- Schema 10: "I need help" on a step is filed once while it is open: looked up per person and
-- kind. It also serves the cascade when a person's rows are erased.
CREATE INDEX followups_user ON followups (user_pk, kind);

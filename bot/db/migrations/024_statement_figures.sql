-- Schema 24: nothing changes on SQLite. PostgreSQL's twin (pg/024) makes its figure triggers
-- statement-level, because there a row-level trigger updating one shared row (a broadcast's
-- figures) once per row writes a new version of that row each time. SQLite updates the row in
-- place within its one writer's transaction, so its row-level triggers (008) stay: cheap here.
SELECT 1;

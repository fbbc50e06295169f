-- Placeholder on branch wp-dates only, so that 009 follows 008: schema 8 belongs to wp-audience
-- (issue 9). At the merge, keep wp-audience's 008_audiences.sql in place of this file.
SELECT 1;

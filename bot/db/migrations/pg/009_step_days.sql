-- PostgreSQL twin of ../009_step_days.sql: the day each step was done, as the person told us
-- (ISO 'YYYY-MM-DD', Tehran calendar); NULL when done but its day is not known.
ALTER TABLE step_progress ADD COLUMN done_on TEXT;
-- Until now the day was the day of the tap (Iran keeps +03:30 all year since 2022) ...
UPDATE step_progress
SET done_on = to_char(to_timestamp(done_at + 12600) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
WHERE done_at IS NOT NULL;
-- ... except for the milestone steps of the shipped content, whose date the person gave.
UPDATE step_progress SET done_on = u.permit_on FROM users u
WHERE u.id = step_progress.user_pk AND step_progress.step_id = 'permit_issued'
  AND step_progress.done_at IS NOT NULL AND u.permit_on IS NOT NULL;
UPDATE step_progress SET done_on = u.loan_on FROM users u
WHERE u.id = step_progress.user_pk AND step_progress.step_id = 'loan_received'
  AND step_progress.done_at IS NOT NULL AND u.loan_on IS NOT NULL;

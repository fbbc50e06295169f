-- Schema 9: the day each step was done, as the person told us (ISO 'YYYY-MM-DD', Tehran
-- calendar); NULL when it is done but its day is not known (a stage they picked implied it).
-- done_at stays the moment it was recorded. A milestone step's day is its milestone date
-- (users.permit_on, users.loan_on): StepRepo.record_milestone writes both in one transaction.
ALTER TABLE step_progress ADD COLUMN done_on TEXT;
-- Until now the day was the day of the tap (Iran keeps +03:30 all year since 2022) ...
UPDATE step_progress SET done_on = date(done_at + 12600, 'unixepoch') WHERE done_at IS NOT NULL;
-- ... except for the milestone steps of the shipped content, whose date the person gave.
UPDATE step_progress
SET done_on = (SELECT u.permit_on FROM users u WHERE u.id = step_progress.user_pk)
WHERE step_id = 'permit_issued' AND done_at IS NOT NULL
  AND (SELECT u.permit_on FROM users u WHERE u.id = step_progress.user_pk) IS NOT NULL;
UPDATE step_progress
SET done_on = (SELECT u.loan_on FROM users u WHERE u.id = step_progress.user_pk)
WHERE step_id = 'loan_received' AND done_at IS NOT NULL
  AND (SELECT u.loan_on FROM users u WHERE u.id = step_progress.user_pk) IS NOT NULL;

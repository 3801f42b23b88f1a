-- A grading's status and phase come from closed lists (services/submissions/grading-states.ts), and
-- each status allows only some phases: queued waits (or waits again after a failed attempt),
-- running is in one of the Grader's steps, completed and failed are where it ended.
-- Every value the service has ever written satisfies this; rows that do not (edited by hand) are
-- brought in line first, from their status, which the API reports and which already had a CHECK.
UPDATE gradings SET phase = CASE status
    WHEN 'completed' THEN 'done'
    WHEN 'failed' THEN 'failed'
    WHEN 'queued' THEN 'queued'
    ELSE 'preparing'
  END
WHERE NOT (
     (status = 'queued' AND phase IN ('queued', 'retrying'))
  OR (status = 'running' AND phase IN ('preparing', 'training', 'predicting', 'scoring'))
  OR (status = 'completed' AND phase = 'done')
  OR (status = 'failed' AND phase = 'failed')
);

ALTER TABLE gradings DROP CONSTRAINT gradings_status_check;
ALTER TABLE gradings ADD CONSTRAINT gradings_status_check CHECK (status IN ('queued', 'running', 'completed', 'failed'));
ALTER TABLE gradings ADD CONSTRAINT gradings_phase_check
  CHECK (phase IN ('queued', 'preparing', 'training', 'predicting', 'scoring', 'retrying', 'done', 'failed'));
ALTER TABLE gradings ADD CONSTRAINT gradings_status_phase_check CHECK (
     (status = 'queued' AND phase IN ('queued', 'retrying'))
  OR (status = 'running' AND phase IN ('preparing', 'training', 'predicting', 'scoring'))
  OR (status = 'completed' AND phase = 'done')
  OR (status = 'failed' AND phase = 'failed')
);

-- The exploratory notebooks' container (reproducibility.notebook_runs) has a phase of its own: it
-- runs after prediction, for up to minutes, and a candidate watching the status page was told their
-- model was still predicting. The lists stay those of services/submissions/grading-states.ts.
ALTER TABLE gradings DROP CONSTRAINT gradings_phase_check;
ALTER TABLE gradings ADD CONSTRAINT gradings_phase_check
  CHECK (phase IN ('queued', 'preparing', 'training', 'predicting', 'notebooks', 'scoring', 'retrying', 'done', 'failed'));
ALTER TABLE gradings DROP CONSTRAINT gradings_status_phase_check;
ALTER TABLE gradings ADD CONSTRAINT gradings_status_phase_check CHECK (
     (status = 'queued' AND phase IN ('queued', 'retrying'))
  OR (status = 'running' AND phase IN ('preparing', 'training', 'predicting', 'notebooks', 'scoring'))
  OR (status = 'completed' AND phase = 'done')
  OR (status = 'failed' AND phase = 'failed')
);

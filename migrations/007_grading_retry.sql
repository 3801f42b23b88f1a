-- A reviewer can grade a submission again after its grading failed for a system reason
-- (POST /v1/submissions/:id/gradings): such gradings carry the reason 'retry'.
ALTER TABLE gradings DROP CONSTRAINT gradings_reason_check;
ALTER TABLE gradings ADD CONSTRAINT gradings_reason_check CHECK (reason IN ('initial', 'regrade', 'retry'));

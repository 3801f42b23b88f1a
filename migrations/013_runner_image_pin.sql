-- The runner image a grading is pinned to: the digest its first attempt ran with. A later attempt on a
-- host with another digest refuses (services/grading/runner-image-pin.ts). Null until a worker starts it.
ALTER TABLE gradings ADD COLUMN runner_image_digest text;

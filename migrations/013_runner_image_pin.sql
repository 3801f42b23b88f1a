-- The runner image a grading is pinned to: the digest its first attempt ran with. A later attempt on a
-- host with another digest refuses (services/grading/runner-image-pin.ts). Null until a worker starts it.
-- IF NOT EXISTS: a shared test database applied this file briefly under another number.
ALTER TABLE gradings ADD COLUMN IF NOT EXISTS runner_image_digest text;

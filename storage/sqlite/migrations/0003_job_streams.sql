-- Jobs go to named streams (delivery, indexing, cleanup, ...), each reserved on its own, so a
-- slow kind never holds up delivery. Jobs queued before streams existed keep their place in
-- the stream their kind now belongs to.
ALTER TABLE jobs ADD COLUMN stream TEXT NOT NULL DEFAULT 'delivery';
UPDATE jobs SET stream = 'indexing' WHERE kind = 'index';
UPDATE jobs SET stream = 'cleanup' WHERE kind = 'unfollow';
DROP INDEX idx_jobs_status;
DROP INDEX idx_jobs_reserved_at;
CREATE INDEX idx_jobs_stream_status ON jobs (stream, status, job_id);
CREATE INDEX idx_jobs_stream_reserved_at ON jobs (stream, status, reserved_at);

-- One row per training job (stable across retries of the same activity); a completed job's
-- result is kept so that a re-delivered command re-announces it instead of training again.
create table training_job (
    job_id     text primary key,
    stream_id  text        not null,
    task_key   text        not null,
    status     text        not null,
    result     jsonb,
    updated_at timestamptz not null default now()
);

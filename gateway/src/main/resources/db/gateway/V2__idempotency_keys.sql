-- Answers kept for Idempotency-Key: one row per caller (API key), path with query, and key. A row is
-- RUNNING while its first request is being answered, then DONE with the answer to replay until it expires.
create table idempotency_key (
    scope        text        primary key,   -- sha256 of caller, path?query and key
    caller       text        not null,
    request_path text        not null,
    idem_key     text        not null,
    request_hash bytea       not null,      -- sha256 of the request body
    state        text        not null check (state in ('RUNNING', 'DONE')),
    status       int,
    content_type text,
    body         bytea,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null
);
create index idempotency_key_expiry on idempotency_key (expires_at);

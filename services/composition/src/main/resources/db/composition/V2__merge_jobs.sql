-- Merges are jobs: factor/delta merges finish within the request, learned merges run in the
-- background. The recipe is also the merged adapter's provenance in the registry.
drop table merge_recipe;

create table merge_job (
    id          uuid primary key,
    status      text        not null check (status in ('RUNNING', 'SUCCEEDED', 'FAILED')),
    stream_id   text        not null,
    method      text        not null,
    request     jsonb       not null,
    recipe      jsonb,
    adapter_id  text,
    blob_key    text,
    sha256      text,
    error       text,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table adapter (
    id               uuid primary key,
    stream_id        text        not null,
    task_key         text,
    type             text        not null,
    version          int         not null,
    status           text        not null check (status in ('CANDIDATE', 'PROMOTED', 'REJECTED', 'RETIRED')),
    status_reason    text,
    description      text        not null default '',
    blob_key         text        not null,
    sha256           text        not null,
    size_bytes       bigint      not null,
    base_model_id    text        not null,
    base_fingerprint text        not null,
    config           jsonb       not null,
    metrics          jsonb       not null default '{}',
    provenance       jsonb       not null,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    unique (stream_id, version)
);
create index adapter_stream on adapter (stream_id, status);

-- The lineage graph: adapter_id was <relation> parent_id (trained-on a dataset, merged-from,
-- warm-started-from another adapter, ...).
create table adapter_lineage (
    adapter_id uuid not null references adapter (id),
    parent_id  text not null,
    relation   text not null,
    primary key (adapter_id, parent_id, relation)
);

create table adapter_alias (
    stream_id  text        not null,
    alias      text        not null,
    adapter_id uuid        not null references adapter (id),
    updated_at timestamptz not null default now(),
    primary key (stream_id, alias)
);

create table processed_event (
    event_id     text primary key,
    processed_at timestamptz not null default now()
);

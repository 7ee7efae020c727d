-- Registered adapters indexed by the base model's embedding of their task description.
create table adapter_index (
    adapter_id       text primary key,
    stream_id        text        not null,
    description      text        not null,
    blob_key         text        not null,
    base_fingerprint text        not null,
    embedding        real[]      not null,
    indexed_at       timestamptz not null default now()
);

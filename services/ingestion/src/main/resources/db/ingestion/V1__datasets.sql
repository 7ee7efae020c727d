create table dataset (
    id              uuid primary key,
    stream_id       text        not null,
    task_key        text        not null,
    name            text        not null,
    description     text        not null,
    labels          jsonb       not null,
    sha256          text        not null,
    train_size      int         not null,
    test_size       int         not null,
    source_event_id text,
    created_at      timestamptz not null default now(),
    -- a stream's task is immutable: one dataset per (stream, task)
    unique (stream_id, task_key)
);

create table dataset_record (
    dataset_id uuid    not null references dataset (id),
    split      text    not null check (split in ('train', 'test')),
    ordinal    int     not null,
    text       text    not null,
    label      text    not null,
    primary key (dataset_id, split, ordinal)
);

create table processed_event (
    event_id     text primary key,
    processed_at timestamptz not null default now()
);

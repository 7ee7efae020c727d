create table stream (
    stream_id          text primary key,
    policy             jsonb,
    average_accuracy   double precision,
    average_forgetting double precision,
    backward_transfer  double precision,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

create table stream_task (
    stream_id           text        not null references stream (stream_id),
    task_key            text        not null,
    position            int         not null,
    dataset_id          text        not null,
    description         text        not null,
    labels              jsonb       not null,
    status              text        not null,
    status_reason       text,
    adapter_id          text,
    accuracy_row        jsonb,
    step                int,
    total_steps         int,
    loss                double precision,
    examples_per_second double precision,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    primary key (stream_id, task_key),
    unique (stream_id, position)
);

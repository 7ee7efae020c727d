-- Row i of a stream's accuracy matrix: the adapter set after task i scored on tasks 0..i.
create table accuracy_row (
    stream_id          text             not null,
    task_index         int              not null,
    task_key           text             not null,
    adapter_ids        jsonb            not null,
    task_keys          jsonb            not null,
    accuracies         jsonb            not null,
    average_accuracy   double precision not null,
    average_forgetting double precision not null,
    backward_transfer  double precision not null,
    evaluated_at       timestamptz      not null default now(),
    primary key (stream_id, task_index)
);

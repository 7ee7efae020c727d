-- Dead letters an operator re-published to their original topic; each record is replayed at most once.
create table dead_letter_replay (
    dlq_topic      text        not null,
    dlq_partition  int         not null,
    dlq_offset     bigint      not null,
    original_topic text        not null,
    replayed_at    timestamptz not null default now(),
    primary key (dlq_topic, dlq_partition, dlq_offset)
);

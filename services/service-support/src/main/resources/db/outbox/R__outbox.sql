-- The transactional outbox of every publishing service, created in the service's own schema: a
-- repeatable migration that each such service adds to its Flyway locations (classpath:db/outbox). Rows are written in the transaction of
-- the state change they announce and deleted by the OutboxRelay once Kafka acknowledged them.
create table if not exists outbox (
    id         bigserial primary key,
    topic      text        not null,
    msg_key    text        not null,
    type       text        not null,
    event_id   text        not null,
    payload    bytea       not null,
    created_at timestamptz not null default now()
);
-- The relay takes the oldest pending row of each (topic, stream).
create index if not exists outbox_stream on outbox (topic, msg_key, id);

-- Idempotent consumers: consumed event ids, recorded in the transaction of their effect.
create table if not exists processed_event (
    event_id     text primary key,
    processed_at timestamptz not null default now()
);

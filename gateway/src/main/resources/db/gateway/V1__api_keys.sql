-- API keys: only the sha256 of a key is kept; the key itself is shown once, when it is created.
create table api_key (
    id          uuid        primary key,
    name        text        not null,
    role        text        not null check (role in ('viewer', 'operator', 'admin')),
    key_hash    text        not null unique,
    key_prefix  text        not null,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);

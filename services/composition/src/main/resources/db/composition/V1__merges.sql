-- Every merge's recipe, so that it can be re-run and compared byte for byte.
create table merge_recipe (
    merged_adapter_id uuid primary key,
    stream_id         text        not null,
    method            text        not null,
    recipe            jsonb       not null,
    created_at        timestamptz not null default now()
);

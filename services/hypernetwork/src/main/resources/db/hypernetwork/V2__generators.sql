-- Versions of the generators (ICM-LoRA, GenerativeAdapter); the newest of a method serves generation.
create table generators (
    generator_id      text primary key,
    method            text             not null,
    version           integer          not null,
    blob_key          text             not null,
    sha256            text             not null,
    training_adapters integer          not null,
    samples           integer          not null,
    parameters        bigint           not null,
    seconds           double precision not null,
    final_loss        double precision,
    trained_on        text             not null, -- adapter or dataset ids, comma-separated (provenance)
    reason            text             not null,
    lora_spec         text,             -- JSON of the LoRA spec an ICM-LoRA generator produces
    created_at        timestamptz      not null default now(),
    unique (method, version)
);

-- Adapters this service generated (and registered); they never count as new training data.
create table generated_adapters (
    adapter_id        text primary key,
    generator_id      text,
    method            text             not null,
    stream_id         text             not null,
    task_key          text             not null,
    generation_millis double precision not null,
    accuracy          double precision,
    test_examples     integer,
    created_at        timestamptz      not null default now()
);

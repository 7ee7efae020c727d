alter table stream_task add column negative_flip_rate double precision;
alter table stream_task add column forward_transfer double precision;
alter table stream_task add column trainable_parameters bigint;
alter table stream_task add column per_class_accuracy jsonb;

-- Per row: negative flip rate against the previously promoted set, forward transfer of the new
-- task against the base model with a fresh head, trainable parameters of the set, per-class accuracy.
alter table accuracy_row add column negative_flip_rate double precision not null default 0;
alter table accuracy_row add column forward_transfer double precision not null default 0;
alter table accuracy_row add column trainable_parameters bigint not null default 0;
alter table accuracy_row add column per_class_accuracy jsonb not null default '{}';

-- Whether an indexed adapter is one generators learn from (a trained LoRA, not a merge, import or reuse):
-- only those count toward training the next generator version.
alter table adapter_index add column trained boolean not null default true;

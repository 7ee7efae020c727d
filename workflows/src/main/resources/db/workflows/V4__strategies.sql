-- merge-after-task: the merge that serves the stream after a task (the task's own adapter is a component of it)
alter table stream_task add column served_adapter_id text;
-- a paused stream keeps its arrivals queued and starts no task until resumed
alter table stream add column paused boolean not null default false;

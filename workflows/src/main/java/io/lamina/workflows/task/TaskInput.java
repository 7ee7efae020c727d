package io.lamina.workflows.task;

import io.lamina.workflows.stream.CompletedTask;
import io.lamina.workflows.stream.TaskArrival;

import java.util.List;

/** A task to run, with the tasks the stream has completed before it (in order). */
public record TaskInput(String streamId, TaskArrival task, List<CompletedTask> previous) {
}

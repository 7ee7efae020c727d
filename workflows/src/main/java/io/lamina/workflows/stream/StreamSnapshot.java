package io.lamina.workflows.stream;

import java.util.List;

/** What the stream workflow answers to a query. */
public record StreamSnapshot(String streamId, String currentTask, List<CompletedTask> completed, List<TaskArrival> pending,
                             boolean paused) {
}

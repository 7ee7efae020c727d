package io.lamina.workflows.stream;

import java.util.List;

/** The input of one run of a stream's workflow (also what continue-as-new carries over). */
public record StreamRun(String streamId, List<CompletedTask> completed, List<TaskArrival> pending, boolean paused) {
    public StreamRun(String streamId, List<CompletedTask> completed, List<TaskArrival> pending) {
        this(streamId, completed, pending, false);
    }
}

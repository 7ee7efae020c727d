package io.lamina.workflows.task;

import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One task of one stream: (warm start) → train → register → evaluate on every seen task →
 * gate → promote or reject. Each step is an activity whose work a service does over Kafka.
 */
@WorkflowInterface
public interface TaskLifecycleWorkflow {
    @WorkflowMethod
    TaskOutcome run(TaskInput input);
}

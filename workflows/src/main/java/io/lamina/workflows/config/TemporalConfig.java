package io.lamina.workflows.config;

import io.lamina.contracts.Json;
import io.lamina.support.MessagePublisher;
import io.lamina.workflows.TaskQueues;
import io.lamina.workflows.activities.ServiceCommandActivitiesImpl;
import io.lamina.workflows.activities.StreamStateActivitiesImpl;
import io.lamina.workflows.state.StreamStore;
import io.lamina.workflows.stream.ContinualStreamWorkflowImpl;
import io.lamina.workflows.task.TaskLifecycleWorkflowImpl;
import io.lamina.workflows.task.TaskTimeouts;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.common.converter.JacksonJsonPayloadConverter;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.util.concurrent.TimeUnit;

/** The Temporal client and the worker that runs Lamina's workflows and activities. */
@Configuration(proxyBeanMethods = false)
public class TemporalConfig {

    @Bean(destroyMethod = "shutdown")
    WorkflowServiceStubs workflowServiceStubs(WorkflowsProperties properties) {
        return WorkflowServiceStubs.newServiceStubs(WorkflowServiceStubsOptions.newBuilder()
                .setTarget(properties.temporalTarget()).build());
    }

    @Bean
    WorkflowClient workflowClient(WorkflowServiceStubs stubs, WorkflowsProperties properties) {
        // Workflow payloads use the same JSON settings as Kafka messages (records, ISO instants).
        var converter = DefaultDataConverter.newDefaultInstance()
                .withPayloadConverterOverrides(new JacksonJsonPayloadConverter(Json.mapper()));
        return WorkflowClient.newInstance(stubs, WorkflowClientOptions.newBuilder()
                .setNamespace(properties.namespace()).setDataConverter(converter).build());
    }

    @Bean
    WorkerFactory workerFactory(WorkflowClient client, MessagePublisher publisher, StreamStore streams,
                                WorkflowsProperties properties) {
        WorkerFactory factory = WorkerFactory.newInstance(client);
        Worker worker = factory.newWorker(TaskQueues.STREAMS);
        worker.registerWorkflowImplementationTypes(ContinualStreamWorkflowImpl.class, TaskLifecycleWorkflowImpl.class,
                io.lamina.workflows.generators.GeneratorTrainingWorkflowImpl.class);
        worker.registerActivitiesImplementations(new ServiceCommandActivitiesImpl(publisher), new StreamStateActivitiesImpl(streams,
                properties.timeouts() == null ? new TaskTimeouts(null, null, null) : properties.timeouts()));
        return factory;
    }

    /** Starts polling once the context is up, stops polling (and waits for running tasks) on shutdown. */
    @Bean
    SmartLifecycle temporalWorkerLifecycle(WorkerFactory factory) {
        return new SmartLifecycle() {
            private volatile boolean running;

            @Override
            public void start() {
                factory.start();
                running = true;
            }

            @Override
            public void stop() {
                factory.shutdown();
                factory.awaitTermination(10, TimeUnit.SECONDS);
                running = false;
            }

            @Override
            public boolean isRunning() {
                return running;
            }
        };
    }
}

package io.lamina.contracts.messages;

/**
 * A command sent by a Temporal activity that completes asynchronously: the service that
 * executes it echoes {@code taskToken} (base64 of Temporal's task token) in its progress and
 * result events, which the workflows bridge turns into heartbeats and completion.
 */
public interface AsyncCommand extends LaminaMessage {
    String taskToken();
}

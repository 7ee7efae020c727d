package io.lamina.contracts.messages;

/** A progress or result event answering an {@link AsyncCommand}; carries its task token. */
public interface AsyncReply extends LaminaMessage {
    String taskToken();
}

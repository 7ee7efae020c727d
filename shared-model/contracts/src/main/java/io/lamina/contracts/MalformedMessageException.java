package io.lamina.contracts;

/** A Kafka message that cannot be read: it goes to the topic's dead-letter topic with this reason. */
public class MalformedMessageException extends RuntimeException {
    public MalformedMessageException(String reason) {
        super(reason);
    }

    public MalformedMessageException(String reason, Throwable cause) {
        super(reason, cause);
    }
}

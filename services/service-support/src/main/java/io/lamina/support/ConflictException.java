package io.lamina.support;

/** The request contradicts the current state (e.g. repeating a one-time operation); answered 409. */
public class ConflictException extends RuntimeException {
    public ConflictException(String message) {
        super(message);
    }
}

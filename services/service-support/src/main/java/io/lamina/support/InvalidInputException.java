package io.lamina.support;

import java.util.List;

/** Input that failed validation; every problem is named in {@link #errors()}. */
public class InvalidInputException extends RuntimeException {
    private final List<String> errors;

    public InvalidInputException(String title, List<String> errors) {
        super(title);
        this.errors = List.copyOf(errors);
    }

    public List<String> errors() {
        return errors;
    }
}

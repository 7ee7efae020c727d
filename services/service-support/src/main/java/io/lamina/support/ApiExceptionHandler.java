package io.lamina.support;

import com.fasterxml.jackson.core.JacksonException;
import io.lamina.contracts.Json;
import org.springframework.boot.autoconfigure.jackson.Jackson2ObjectMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

import java.util.NoSuchElementException;

/** Errors as RFC 9457 problem details with a precise {@code detail}; never a stack trace. */
@RestControllerAdvice
@Order(Ordered.HIGHEST_PRECEDENCE)
public class ApiExceptionHandler {

    /**
     * Request bodies are read with Lamina's JSON settings (nesting depth, one value per document),
     * not only messages: without this, Spring's mapper accepts 1000-deep documents and trailing garbage.
     */
    @Bean
    static Jackson2ObjectMapperBuilderCustomizer laminaJsonLimits() {
        return builder -> builder.postConfigurer(Json::configure);
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail badRequest(IllegalArgumentException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
        problem.setTitle("Invalid request");
        return problem;
    }

    @ExceptionHandler(NoSuchElementException.class)
    ProblemDetail notFound(NoSuchElementException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
        problem.setTitle("Not found");
        return problem;
    }

    @ExceptionHandler(InvalidInputException.class)
    ProblemDetail invalid(InvalidInputException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, String.join("; ", e.errors()));
        problem.setTitle(e.getMessage());
        problem.setProperty("errors", e.errors());
        return problem;
    }

    @ExceptionHandler(ConflictException.class)
    ProblemDetail conflict(ConflictException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, e.getMessage());
        problem.setTitle("Conflict");
        return problem;
    }

    /** Malformed JSON, wrong JSON types, missing or too deeply nested bodies: what the parser said, briefly. */
    @ExceptionHandler(HttpMessageNotReadableException.class)
    ProblemDetail unreadable(HttpMessageNotReadableException e) {
        String reason = null;
        for (Throwable t = e.getCause(); t != null && reason == null; t = t.getCause()) {
            if (t instanceof JacksonException j) reason = j.getOriginalMessage();
        }
        if (reason == null) reason = e.getMessage() != null && e.getMessage().startsWith("Required request body is missing")
                ? "the request body is missing" : "the request body cannot be read";
        if (reason.length() > 300) reason = reason.substring(0, 300) + "…";
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "Unreadable JSON body: " + reason);
        problem.setTitle("Invalid request");
        return problem;
    }

    /** A multipart body that does not parse (the size limit has its own answer below). */
    @ExceptionHandler(org.springframework.web.multipart.MultipartException.class)
    ProblemDetail badMultipart(org.springframework.web.multipart.MultipartException e) {
        if (e instanceof MaxUploadSizeExceededException tooLarge) return tooLarge(tooLarge);
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "the multipart body cannot be read: "
                + (e.getMostSpecificCause().getMessage() == null ? e.getMessage() : e.getMostSpecificCause().getMessage()));
        problem.setTitle("Invalid request");
        return problem;
    }

    @ExceptionHandler(MaxUploadSizeExceededException.class)
    ProblemDetail tooLarge(MaxUploadSizeExceededException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.PAYLOAD_TOO_LARGE,
                "the upload is larger than " + (e.getMaxUploadSize() < 0 ? "the limit" : e.getMaxUploadSize() + " bytes"));
        problem.setTitle("Payload too large");
        return problem;
    }
}

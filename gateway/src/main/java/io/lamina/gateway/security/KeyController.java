package io.lamina.gateway.security;

import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.*;

import java.util.List;
import java.util.NoSuchElementException;

/** API keys (admin only): created with a role, listed without their secrets, revoked. */
@RestController
@RequestMapping("/api/keys")
class KeyController {
    private final ApiKeys keys;

    KeyController(ApiKeys keys) {
        this.keys = keys;
    }

    record NewKey(String name, String role) {
    }

    @Operation(summary = "Create an API key with a role (viewer, operator, admin); the key is in this answer only")
    @PostMapping
    @ResponseStatus(HttpStatus.CREATED)
    ApiKeys.Created create(@RequestBody NewKey body) {
        if (body == null) throw new IllegalArgumentException("a body {name, role} is required");
        return keys.create(body.name(), body.role());
    }

    @Operation(summary = "Every API key (id, name, role, first characters, created, revoked), never the secret")
    @GetMapping
    List<ApiKeys.ApiKey> list() {
        return keys.list();
    }

    @Operation(summary = "Revoke an API key (not the last admin key)")
    @DeleteMapping("/{id}")
    ApiKeys.ApiKey revoke(@PathVariable String id) {
        return keys.revoke(id);
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail badRequest(IllegalArgumentException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    }

    @ExceptionHandler(NoSuchElementException.class)
    ProblemDetail notFound(NoSuchElementException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
    }

    @ExceptionHandler(IllegalStateException.class)
    ProblemDetail conflict(IllegalStateException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, e.getMessage());
    }
}

package io.lamina.gateway.security;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.web.bind.annotation.*;

import java.util.Locale;
import java.util.Map;

/** The dashboard's sign-in: an API key once, then a session cookie (HttpOnly) and CSRF protection. */
@RestController
@RequestMapping("/api/session")
class SessionController {
    private final ApiKeys keys;
    private final SecurityContextRepository contexts;

    SessionController(ApiKeys keys, SecurityContextRepository contexts) {
        this.keys = keys;
        this.contexts = contexts;
    }

    record SignIn(String key) {
    }

    @Operation(summary = "Sign in with an API key: starts a session (cookie) with the key's role")
    @PostMapping
    ResponseEntity<?> signIn(@RequestBody(required = false) SignIn body, HttpServletRequest request, HttpServletResponse response) {
        var key = body == null ? java.util.Optional.<ApiKeys.ApiKey>empty() : keys.authenticate(body.key());
        if (key.isEmpty()) {
            return ResponseEntity.status(HttpStatus.UNAUTHORIZED).body(ProblemDetail.forStatusAndDetail(HttpStatus.UNAUTHORIZED, "unknown or revoked API key"));
        }
        HttpSession old = request.getSession(false);
        if (old != null) old.invalidate(); // a fresh session id at sign-in (no fixation)
        request.getSession(true);
        var context = SecurityContextHolder.createEmptyContext();
        context.setAuthentication(SecurityConfig.authentication(key.get()));
        SecurityContextHolder.setContext(context);
        contexts.saveContext(context, request, response);
        return ResponseEntity.ok(Map.of("name", key.get().name(), "role", key.get().role()));
    }

    @Operation(summary = "Who is signed in (401 when nobody)")
    @GetMapping
    ResponseEntity<?> current() {
        Authentication a = SecurityContextHolder.getContext().getAuthentication();
        if (a == null || !a.isAuthenticated() || a.getAuthorities().stream().noneMatch(g -> g.getAuthority().startsWith("ROLE_"))
                || a.getAuthorities().stream().anyMatch(g -> g.getAuthority().equals("ROLE_ANONYMOUS"))) {
            return ResponseEntity.status(HttpStatus.UNAUTHORIZED).body(ProblemDetail.forStatusAndDetail(HttpStatus.UNAUTHORIZED, "not signed in"));
        }
        String role = a.getAuthorities().iterator().next().getAuthority().replace("ROLE_", "").toLowerCase(Locale.ROOT);
        return ResponseEntity.ok(Map.of("name", a.getName(), "role", role));
    }

    @Operation(summary = "Sign out")
    @DeleteMapping
    ResponseEntity<Void> signOut(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        if (session != null) session.invalidate();
        SecurityContextHolder.clearContext();
        return ResponseEntity.noContent().build();
    }
}

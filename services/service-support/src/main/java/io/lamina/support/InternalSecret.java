package io.lamina.support;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Services authenticate their callers, the gateway and each other, with a shared secret in the
 * {@value #HEADER} header when {@code lamina.internal-secret} is set (the embedded platform always sets
 * one; docker-compose takes {@code LAMINA_INTERNAL_SECRET}). People and programs never see it: they
 * authenticate at the gateway with API keys, and the gateway adds the secret when it forwards.
 * Health stays open for orchestrators' probes.
 */
public final class InternalSecret extends OncePerRequestFilter {
    public static final String HEADER = "X-Lamina-Internal";

    private final byte[] secret;

    public InternalSecret(String secret) {
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return request.getRequestURI().startsWith("/actuator/health");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String given = request.getHeader(HEADER);
        if (given == null || !MessageDigest.isEqual(secret, given.getBytes(StandardCharsets.UTF_8))) {
            response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
            response.setContentType("application/problem+json");
            response.setCharacterEncoding(StandardCharsets.UTF_8.name());
            response.getWriter().write("{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
                    + "\"detail\":\"services answer only the gateway and each other: call the API through the gateway\"}");
            return;
        }
        chain.doFilter(request, response);
    }
}

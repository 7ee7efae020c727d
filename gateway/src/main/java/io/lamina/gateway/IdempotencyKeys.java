package io.lamina.gateway;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;

/**
 * {@code Idempotency-Key} on POSTs that create things (IETF draft "The Idempotency-Key HTTP Header
 * Field"): a retried request with the same key, path and body gets the first answer again (with
 * {@code Idempotent-Replayed: true}) instead of creating twice; the same key with another body is a
 * 422; a key whose first request is still running is a 409. Only final answers below 500 are kept,
 * so a failure can be retried. Kept for {@code lamina.gateway.idempotency-ttl} (24 h) in this gateway
 * instance's memory: several gateway replicas would need a shared store. Multipart uploads (adapter
 * imports) are left alone; they are idempotent by content anyway.
 */
@Component
// after Spring Security's filter chain: only an authorised request may be answered from the store
@Order(org.springframework.boot.autoconfigure.security.SecurityProperties.DEFAULT_FILTER_ORDER + 1)
class IdempotencyKeys extends OncePerRequestFilter {
    static final String HEADER = "Idempotency-Key";
    private static final int MAX_KEY = 200;

    private record Answer(byte[] requestHash, int status, String contentType, byte[] body) {
    }

    private final Cache<String, Answer> answers;
    private final Set<String> running = ConcurrentHashMap.newKeySet();

    IdempotencyKeys(@Value("${lamina.gateway.idempotency-ttl:PT24H}") Duration ttl) {
        this.answers = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(10_000).build();
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String type = request.getContentType();
        return !"POST".equals(request.getMethod()) || request.getHeader(HEADER) == null || !request.getRequestURI().startsWith("/api/")
                || (type != null && type.toLowerCase().startsWith("multipart/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String key = request.getHeader(HEADER);
        if (key.isBlank() || key.length() > MAX_KEY) {
            problem(response, 400, "Idempotency-Key must hold 1 to " + MAX_KEY + " characters");
            return;
        }
        byte[] body = request.getInputStream().readAllBytes();
        byte[] hash = sha256(body);
        String id = request.getRequestURI() + "?" + request.getQueryString() + "#" + key;
        Answer earlier = answers.getIfPresent(id);
        if (earlier != null) {
            if (!Arrays.equals(earlier.requestHash(), hash)) {
                problem(response, 422, "Idempotency-Key '" + key + "' was used with a different request body");
                return;
            }
            response.setStatus(earlier.status());
            if (earlier.contentType() != null) response.setContentType(earlier.contentType());
            response.setHeader("Idempotent-Replayed", "true");
            response.getOutputStream().write(earlier.body());
            return;
        }
        if (!running.add(id)) {
            problem(response, 409, "a request with Idempotency-Key '" + key + "' is still being processed");
            return;
        }
        try {
            ContentCachingResponseWrapper captured = new ContentCachingResponseWrapper(response);
            chain.doFilter(new BodyRequest(request, body), captured);
            if (captured.getStatus() < 500) {
                answers.put(id, new Answer(hash, captured.getStatus(), captured.getContentType(), captured.getContentAsByteArray()));
            }
            captured.copyBodyToResponse();
        } finally {
            running.remove(id);
        }
    }

    private static void problem(HttpServletResponse response, int status, String detail) throws IOException {
        Problems.write(response, status, "Idempotency-Key", detail);
    }

    private static byte[] sha256(byte[] body) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(body);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The request with its body already read (and read again by whoever forwards it). */
    private static final class BodyRequest extends HttpServletRequestWrapper {
        private final byte[] body;

        BodyRequest(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public ServletInputStream getInputStream() {
            ByteArrayInputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public boolean isFinished() { return in.available() == 0; }

                @Override
                public boolean isReady() { return true; }

                @Override
                public void setReadListener(ReadListener listener) {
                    try {
                        // the whole body is already here
                        listener.onDataAvailable();
                        listener.onAllDataRead();
                    } catch (IOException e) {
                        listener.onError(e);
                    }
                }

                @Override
                public int read() { return in.read(); }

                @Override
                public int read(byte[] b, int off, int len) { return in.read(b, off, len); }
            };
        }

        @Override
        public int getContentLength() { return body.length; }

        @Override
        public long getContentLengthLong() { return body.length; }
    }
}

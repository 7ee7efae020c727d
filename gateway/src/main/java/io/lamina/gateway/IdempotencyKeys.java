package io.lamina.gateway;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.annotation.Order;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code Idempotency-Key} on POSTs (IETF draft "The Idempotency-Key HTTP Header Field"): a retried
 * request with the same key, path and body, from the same API key, gets the first answer again (with
 * {@code Idempotent-Replayed: true}) instead of acting twice; the same key with another body is a 422;
 * a key whose first request is still running is a 409. Only final answers below 500 (of at most
 * {@code lamina.gateway.idempotency-max-answer}) are kept, so a failure can be retried.
 * <p>
 * Answers are kept for {@code lamina.gateway.idempotency-ttl} (24 h) in the gateway's PostgreSQL schema
 * ({@code gateway.idempotency_key}), so a retry reaching another gateway replica, or this one after a
 * restart, is answered the same. A request whose gateway died while answering it leaves a RUNNING row:
 * after {@code lamina.gateway.idempotency-abandoned-after} a retry takes it over.
 * <p>
 * Left alone: multipart uploads (adapter imports are idempotent by content anyway), signing in (a replay
 * would not start a session) and API keys (a new key's secret must not be kept anywhere but in its hash).
 */
@Component
// after Spring Security's filter chain: only an authorised request may be answered from the store
@Order(org.springframework.boot.autoconfigure.security.SecurityProperties.DEFAULT_FILTER_ORDER + 1)
class IdempotencyKeys extends OncePerRequestFilter {
    static final String HEADER = "Idempotency-Key";
    private static final int MAX_KEY = 200;
    private static final long PURGE_EVERY_MS = 60_000;

    private record Stored(byte[] requestHash, String state, boolean abandoned, int status, String contentType, byte[] body) {
    }

    private final JdbcTemplate jdbc;
    private final long ttlSeconds;
    private final long abandonedSeconds;
    private final long maxAnswer;
    private final AtomicLong lastPurge = new AtomicLong();

    IdempotencyKeys(JdbcTemplate jdbc,
                    @Value("${lamina.gateway.idempotency-ttl:PT24H}") Duration ttl,
                    @Value("${lamina.gateway.idempotency-abandoned-after:PT10M}") Duration abandonedAfter,
                    @Value("${lamina.gateway.idempotency-max-answer:4MB}") DataSize maxAnswer) {
        this.jdbc = jdbc;
        this.ttlSeconds = ttl.toSeconds();
        this.abandonedSeconds = abandonedAfter.toSeconds();
        this.maxAnswer = maxAnswer.toBytes();
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String type = request.getContentType();
        String uri = request.getRequestURI();
        return !"POST".equals(request.getMethod()) || request.getHeader(HEADER) == null || !uri.startsWith("/api/")
                || uri.equals("/api/session") || uri.equals("/api/keys") || uri.startsWith("/api/keys/")
                || (type != null && type.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String key = request.getHeader(HEADER);
        if (key.isBlank() || key.length() > MAX_KEY) {
            problem(response, 400, "Idempotency-Key must hold 1 to " + MAX_KEY + " characters");
            return;
        }
        purgeExpired();
        byte[] body = request.getInputStream().readAllBytes();
        byte[] hash = sha256(body);
        String caller = caller();
        String path = request.getRequestURI() + (request.getQueryString() == null ? "" : "?" + request.getQueryString());
        String scope = HexFormat.of().formatHex(sha256((caller + "\n" + path + "\n" + key).getBytes(StandardCharsets.UTF_8)));

        if (!claim(scope, caller, path, key, hash)) {
            Stored earlier = find(scope);
            if (earlier == null) {
                // its first request failed and let go of the key between our two looks: this one may run
                if (!claim(scope, caller, path, key, hash)) {
                    problem(response, 409, "a request with Idempotency-Key '" + key + "' is still being processed");
                    return;
                }
            } else if (!Arrays.equals(earlier.requestHash(), hash)) {
                problem(response, 422, "Idempotency-Key '" + key + "' was used with a different request body");
                return;
            } else if (earlier.state().equals("DONE")) {
                response.setStatus(earlier.status());
                if (earlier.contentType() != null) response.setContentType(earlier.contentType());
                response.setHeader("Idempotent-Replayed", "true");
                response.getOutputStream().write(earlier.body());
                return;
            } else if (!(earlier.abandoned() && takeOver(scope))) {
                problem(response, 409, "a request with Idempotency-Key '" + key + "' is still being processed");
                return;
            }
        }
        boolean kept = false;
        try {
            ContentCachingResponseWrapper captured = new ContentCachingResponseWrapper(response);
            chain.doFilter(new BodyRequest(request, body), captured);
            byte[] answer = captured.getContentAsByteArray();
            if (captured.getStatus() < 500 && answer.length <= maxAnswer) {
                jdbc.update("update idempotency_key set state = 'DONE', status = ?, content_type = ?, body = ? where scope = ?",
                        captured.getStatus(), captured.getContentType(), answer, scope);
                kept = true;
            }
            captured.copyBodyToResponse();
        } finally {
            // not kept (a failure, an answer too large, an exception): a retry runs again
            if (!kept) jdbc.update("delete from idempotency_key where scope = ? and state = 'RUNNING'", scope);
        }
    }

    /** Inserts the RUNNING row (after dropping an expired one); false if the key is already taken. */
    private boolean claim(String scope, String caller, String path, String key, byte[] hash) {
        jdbc.update("delete from idempotency_key where scope = ? and expires_at < now()", scope);
        return jdbc.update("""
                insert into idempotency_key(scope, caller, request_path, idem_key, request_hash, state, expires_at)
                values (?, ?, ?, ?, ?, 'RUNNING', now() + ? * interval '1 second')
                on conflict (scope) do nothing""", scope, caller, path, key, hash, ttlSeconds) == 1;
    }

    /** A RUNNING row older than the abandon limit (its gateway died while answering) is taken over by one retry. */
    private boolean takeOver(String scope) {
        return jdbc.update("""
                update idempotency_key set created_at = now() where scope = ? and state = 'RUNNING'
                and created_at < now() - ? * interval '1 second'""", scope, abandonedSeconds) == 1;
    }

    private Stored find(String scope) {
        return jdbc.query("""
                select request_hash, state, created_at < now() - ? * interval '1 second' as abandoned, status, content_type, body
                from idempotency_key where scope = ? and expires_at >= now()""",
                (rs, n) -> new Stored(rs.getBytes("request_hash"), rs.getString("state"), rs.getBoolean("abandoned"),
                        rs.getInt("status"), rs.getString("content_type"), rs.getBytes("body")), abandonedSeconds, scope)
                .stream().findFirst().orElse(null);
    }

    /** Expired answers are deleted at most once a minute, by whichever request comes first. */
    private void purgeExpired() {
        long now = System.currentTimeMillis(), last = lastPurge.get();
        if (now - last > PURGE_EVERY_MS && lastPurge.compareAndSet(last, now)) {
            jdbc.update("delete from idempotency_key where expires_at < now()");
        }
    }

    /** Who is asking: keys are scoped per API key, so one caller never sees another's answer. */
    private static String caller() {
        Authentication a = SecurityContextHolder.getContext().getAuthentication();
        return a == null ? "anonymous" : a.getName();
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

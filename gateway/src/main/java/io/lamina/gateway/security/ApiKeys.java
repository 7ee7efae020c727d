package io.lamina.gateway.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * API keys with a role: {@code viewer} reads, {@code operator} also creates streams, uploads, merges,
 * generates and promotes, {@code admin} also manages keys. A key is 32 random bytes; only its sha256 is
 * stored (a key has 256 bits of entropy, so a fast hash is enough), and the key is shown once.
 */
@Service
public class ApiKeys {
    public static final Set<String> ROLES = Set.of("viewer", "operator", "admin");
    private static final Logger log = LoggerFactory.getLogger(ApiKeys.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final JdbcTemplate jdbc;

    ApiKeys(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public record ApiKey(String id, String name, String role, String prefix, Instant createdAt, Instant revokedAt) {
    }

    /** A new key, with the key itself: the only time it is shown. */
    public record Created(String id, String name, String role, String key) {
    }

    public Created create(String name, String role) {
        return insert(name, role, newKey());
    }

    private Created insert(String name, String role, String key) {
        if (name == null || name.isBlank() || name.length() > 100) throw new IllegalArgumentException("name must hold 1 to 100 characters");
        String r = role == null ? null : role.toLowerCase(Locale.ROOT);
        if (!ROLES.contains(r)) throw new IllegalArgumentException("role must be one of viewer, operator, admin; got " + role);
        UUID id = UUID.randomUUID();
        jdbc.update("insert into api_key(id, name, role, key_hash, key_prefix) values (?, ?, ?, ?, ?)",
                id, name.strip(), r, hash(key), key.substring(0, Math.min(8, key.length())));
        return new Created(id.toString(), name.strip(), r, key);
    }

    /** The active key with this secret. */
    public Optional<ApiKey> authenticate(String key) {
        if (key == null || key.isBlank() || key.length() > 200) return Optional.empty();
        return jdbc.query("select * from api_key where key_hash = ? and revoked_at is null", (rs, n) -> view(rs), hash(key))
                .stream().findFirst();
    }

    public List<ApiKey> list() {
        return jdbc.query("select * from api_key order by created_at, id", (rs, n) -> view(rs));
    }

    /** Revokes a key; the last active admin key cannot be revoked (nobody could manage keys any more). */
    public ApiKey revoke(String id) {
        UUID uuid;
        try {
            uuid = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("key id '" + id + "' is not a UUID");
        }
        ApiKey key = jdbc.query("select * from api_key where id = ?", (rs, n) -> view(rs), uuid).stream().findFirst()
                .orElseThrow(() -> new NoSuchElementException("no API key " + id));
        if (key.role().equals("admin") && key.revokedAt() == null) {
            Integer admins = jdbc.queryForObject("select count(*) from api_key where role = 'admin' and revoked_at is null", Integer.class);
            if (admins != null && admins <= 1) throw new IllegalStateException("the last active admin key cannot be revoked");
        }
        jdbc.update("update api_key set revoked_at = coalesce(revoked_at, now()) where id = ?", uuid);
        return jdbc.query("select * from api_key where id = ?", (rs, n) -> view(rs), uuid).get(0);
    }

    /**
     * At start: the configured admin key is created if it is not there yet; without one, an empty key
     * store gets a generated admin key, printed once (it cannot be shown again).
     */
    public void bootstrap(String configuredAdminKey) {
        if (configuredAdminKey != null && !configuredAdminKey.isBlank()) {
            if (configuredAdminKey.length() < 16) throw new IllegalArgumentException("LAMINA_ADMIN_KEY must have at least 16 characters");
            if (authenticate(configuredAdminKey).isEmpty()) {
                insert("admin (LAMINA_ADMIN_KEY)", "admin", configuredAdminKey);
                log.info("admin API key from LAMINA_ADMIN_KEY registered");
            }
            return;
        }
        Integer admins = jdbc.queryForObject("select count(*) from api_key where role = 'admin' and revoked_at is null", Integer.class);
        if (admins != null && admins > 0) return;
        Created created = create("admin (generated at first start)", "admin");
        String line = "Lamina admin API key (shown once; use it as 'Authorization: Bearer <key>' or to sign in to the dashboard): " + created.key();
        System.out.println(line);
        log.warn(line);
    }

    /** A new secret: {@code lam_} + 32 random bytes, base64url. */
    public static String newKey() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return "lam_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ApiKey view(java.sql.ResultSet rs) throws java.sql.SQLException {
        Timestamp revoked = rs.getTimestamp("revoked_at");
        return new ApiKey(rs.getString("id"), rs.getString("name"), rs.getString("role"), rs.getString("key_prefix"),
                rs.getTimestamp("created_at").toInstant(), revoked == null ? null : revoked.toInstant());
    }
}

package io.lamina.local;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A real PostgreSQL server (zonky's binaries from Maven) whose data directory is kept across restarts. */
final class EmbeddedPostgresServer implements AutoCloseable {
    private final EmbeddedPostgres postgres;

    EmbeddedPostgresServer(Path dataDir, int port) throws IOException {
        Files.createDirectories(dataDir);
        stopStalePostmaster(dataDir);
        postgres = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port)
                .setPGStartupWait(Duration.ofSeconds(30))
                // The stack stops it after the services (EmbeddedStack's own hook): with zonky's hook the
                // database died first at exit and every service logged broken connections.
                .setRegisterShutdownHook(false)
                .start();
    }

    String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    /** After a kill -9 the old postmaster keeps running; stop it so the new server owns the data. */
    private static void stopStalePostmaster(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) return;
        List<String> lines = Files.readAllLines(pidFile);
        if (lines.isEmpty()) return;
        try {
            long pid = Long.parseLong(lines.get(0).trim());
            ProcessHandle.of(pid).ifPresent(process -> {
                process.destroy();
                process.onExit().orTimeout(20, java.util.concurrent.TimeUnit.SECONDS).join();
            });
        } catch (RuntimeException ignored) {
            // not a pid, or it is already gone
        }
        Files.deleteIfExists(pidFile);
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}

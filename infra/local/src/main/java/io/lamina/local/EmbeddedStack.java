package io.lamina.local;

import io.lamina.composition.CompositionApplication;
import io.lamina.evaluation.EvaluationApplication;
import io.lamina.gateway.GatewayApplication;
import io.lamina.hypernetwork.HypernetworkApplication;
import io.lamina.ingestion.IngestionApplication;
import io.lamina.registry.RegistryApplication;
import io.lamina.trainingworker.TrainingWorkerApplication;
import io.lamina.workflows.WorkflowsApplication;
import io.temporal.testserver.TestServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ConfigurableApplicationContext;

import java.io.Closeable;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The whole platform in one JVM: a KRaft Kafka broker, Temporal's in-process server on a local
 * port, an embedded PostgreSQL (data kept under {@code home}), and every service in its own
 * Spring context and port, then the gateway. {@link #close()} stops everything in reverse order.
 */
public final class EmbeddedStack implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedStack.class);

    private final StackPorts ports;
    private final Path home;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    /** The running services by name, so that one can be stopped and started again (fault tests). */
    private final Map<String, RunningService> services = new LinkedHashMap<>();
    private String adminKey;
    private boolean adminKeyGenerated;
    private EmbeddedKafka kafka;

    private static final class RunningService implements AutoCloseable {
        final Function<String[], ConfigurableApplicationContext> starter;
        final String[] args;
        ConfigurableApplicationContext context;

        RunningService(Function<String[], ConfigurableApplicationContext> starter, String[] args) {
            this.starter = starter;
            this.args = args;
        }

        synchronized void start() {
            if (context == null) context = starter.apply(args);
        }

        @Override
        public synchronized void close() {
            if (context != null) context.close();
            context = null;
        }
    }

    private EmbeddedStack(Path home, StackPorts ports) {
        this.home = home;
        this.ports = ports;
    }

    /**
     * Starts the stack. {@code extraArgs} are passed to every service (e.g. a stream policy
     * override such as {@code --lamina.workflows.default-policy.training.epochs=1}).
     */
    public static EmbeddedStack start(Path home, StackPorts ports, String... extraArgs) throws Exception {
        EmbeddedStack stack = new EmbeddedStack(home.toAbsolutePath(), ports);
        // at JVM exit everything stops in reverse start order (services before the database); close() is idempotent
        Runtime.getRuntime().addShutdownHook(new Thread(stack::close, "lamina-stack-shutdown"));
        try {
            stack.startAll(extraArgs);
            return stack;
        } catch (Exception | Error e) {
            stack.close();
            throw e;
        }
    }

    private void startAll(String[] extraArgs) throws Exception {
        long t0 = System.nanoTime();
        EmbeddedPostgresServer postgres = new EmbeddedPostgresServer(home.resolve("postgres"), ports.postgres());
        started.push(postgres);
        log.info("PostgreSQL up on port {}", ports.postgres());
        kafka = new EmbeddedKafka(home.resolve("kafka"), ports.kafka(), ports.kafkaController());
        started.push(() -> kafka.close());
        log.info("Kafka up on port {}", ports.kafka());
        Closeable temporal = TestServer.createPortBoundServer(ports.temporal());
        started.push(temporal);
        log.info("Temporal up on port {}", ports.temporal());

        resolveAdminKey();
        List<String> common = new ArrayList<>(List.of(
                "--lamina.db.url=jdbc:postgresql://localhost:" + ports.postgres() + "/postgres",
                "--lamina.db.username=postgres",
                "--lamina.db.password=postgres",
                "--lamina.kafka.brokers=localhost:" + ports.kafka(),
                "--lamina.blob-root=" + home.resolve("blobs"),
                "--lamina.training-worker.checkpoint-root=" + home.resolve("checkpoints"),
                "--lamina.workflows.temporal-target=localhost:" + ports.temporal(),
                "--lamina.services.ingestion=http://localhost:" + ports.ingestion(),
                "--lamina.services.training-worker=http://localhost:" + ports.trainingWorker(),
                "--lamina.services.registry=http://localhost:" + ports.registry(),
                "--lamina.services.composition=http://localhost:" + ports.composition(),
                "--lamina.services.hypernetwork=http://localhost:" + ports.hypernetwork(),
                "--lamina.services.evaluation=http://localhost:" + ports.evaluation(),
                "--lamina.services.workflows=http://localhost:" + ports.workflows()));
        common.add("--lamina.security.admin-key=" + adminKey);
        // services answer only the gateway and each other: a fresh shared secret per start
        byte[] internal = new byte[32];
        new java.security.SecureRandom().nextBytes(internal);
        common.add("--lamina.internal-secret=" + java.util.HexFormat.of().formatHex(internal));
        common.addAll(List.of(extraArgs));

        service("registry", RegistryApplication::start, ports.registry(), common);
        service("ingestion", IngestionApplication::start, ports.ingestion(), common);
        service("training-worker", TrainingWorkerApplication::start, ports.trainingWorker(), common);
        service("evaluation", EvaluationApplication::start, ports.evaluation(), common);
        service("composition", CompositionApplication::start, ports.composition(), common);
        service("hypernetwork", HypernetworkApplication::start, ports.hypernetwork(), common);
        service("workflows", WorkflowsApplication::start, ports.workflows(), common);
        service("gateway", GatewayApplication::start, ports.gateway(), common);
        log.info("Lamina is up in {} s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));
    }

    private void service(String name, Function<String[], ConfigurableApplicationContext> starter, int port, List<String> common) {
        List<String> args = new ArrayList<>(common);
        args.add("--server.port=" + port);
        RunningService service = new RunningService(starter, args.toArray(String[]::new));
        service.start();
        services.put(name, service);
        started.push(service);
        log.info("{} up on port {}", name, port);
    }

    /** Stops the Kafka broker and starts it again on the same ports and data (fault tests). */
    public synchronized void restartKafka(java.time.Duration down) throws Exception {
        kafka.close();
        log.info("Kafka stopped");
        Thread.sleep(down.toMillis());
        kafka = new EmbeddedKafka(home.resolve("kafka"), ports.kafka(), ports.kafkaController());
        log.info("Kafka started again");
    }

    /** Stops one service (its Spring context), as if its process had gone away. */
    public void stopService(String name) {
        running(name).close();
        log.info("{} stopped", name);
    }

    /** Starts a stopped service again, with the same settings and port. */
    public void startService(String name) {
        running(name).start();
        log.info("{} started again", name);
    }

    private RunningService running(String name) {
        RunningService s = services.get(name);
        if (s == null) throw new IllegalArgumentException("no service '" + name + "'; services: " + services.keySet());
        return s;
    }

    public StackPorts ports() {
        return ports;
    }

    public String gatewayUrl() {
        return "http://localhost:" + ports.gateway();
    }

    /**
     * LAMINA_ADMIN_KEY when set; otherwise the key kept in {@code <home>/admin-key} (owner-only), generated
     * at the first start of this home. The gateway registers it (hashed) as an admin key.
     */
    private void resolveAdminKey() throws java.io.IOException {
        String env = System.getenv("LAMINA_ADMIN_KEY");
        if (env != null && !env.isBlank()) {
            adminKey = env.strip();
            return;
        }
        Path file = home.resolve("admin-key");
        if (java.nio.file.Files.exists(file)) {
            adminKey = java.nio.file.Files.readString(file).strip();
            return;
        }
        adminKey = io.lamina.gateway.security.ApiKeys.newKey();
        java.nio.file.Files.createDirectories(home);
        java.nio.file.Files.writeString(file, adminKey);
        try {
            java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            log.warn("cannot restrict the permissions of {}", file);
        }
        adminKeyGenerated = true;
    }

    /** The admin API key of this stack (LAMINA_ADMIN_KEY, or generated once per home and kept in {@code <home>/admin-key}). */
    public String adminKey() {
        return adminKey;
    }

    /** Whether this start generated the admin key (the first start of a home without LAMINA_ADMIN_KEY). */
    public boolean adminKeyGenerated() {
        return adminKeyGenerated;
    }

    public String kafkaBrokers() {
        return "localhost:" + ports.kafka();
    }

    @Override
    public synchronized void close() {
        while (!started.isEmpty()) {
            try {
                started.pop().close();
            } catch (Exception e) {
                log.warn("while stopping: {}", e.toString());
            }
        }
    }
}

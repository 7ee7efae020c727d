package io.lamina.local;

import java.io.IOException;
import java.net.ServerSocket;

/** The ports of the embedded stack: fixed defaults for people, free ports for tests. */
public record StackPorts(int gateway, int ingestion, int trainingWorker, int registry, int composition, int hypernetwork,
                         int evaluation, int workflows, int kafka, int kafkaController, int temporal, int postgres) {

    public static StackPorts defaults() {
        return new StackPorts(8080, 8081, 8082, 8083, 8084, 8085, 8086, 8087, 9092, 9093, 7233, 15432);
    }

    public static StackPorts free() {
        return new StackPorts(freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(),
                freePort(), freePort(), freePort(), freePort(), freePort());
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port", e);
        }
    }
}

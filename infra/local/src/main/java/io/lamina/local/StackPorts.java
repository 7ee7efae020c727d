package io.lamina.local;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/** The ports of the embedded stack: fixed defaults for people, free ports for tests. */
public record StackPorts(int gateway, int ingestion, int trainingWorker, int registry, int composition, int hypernetwork,
                         int evaluation, int workflows, int kafka, int kafkaController, int temporal, int postgres) {

    public static StackPorts defaults() {
        return new StackPorts(8080, 8081, 8082, 8083, 8084, 8085, 8086, 8087, 9092, 9093, 7233, 15432);
    }

    /**
     * Free ports for a test stack: distinct, and below Linux's ephemeral range (32768–60999), so
     * that no outgoing connection of the JVM can take one between this choice and its use.
     */
    public static StackPorts free() {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] p = new int[12];
            for (int i = 0; i < p.length; i++) p[i] = hold(held);
            return new StackPorts(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]);
        } finally {
            for (ServerSocket socket : held) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing a probe socket cannot fail in a way that matters
                }
            }
        }
    }

    private static int hold(List<ServerSocket> held) {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = 20000 + RANDOM.nextInt(12000);
            try {
                ServerSocket socket = new ServerSocket();
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress("localhost", port));
                held.add(socket);
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000");
    }

    private static final SecureRandom RANDOM = new SecureRandom();
}

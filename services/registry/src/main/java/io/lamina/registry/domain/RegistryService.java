package io.lamina.registry.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.AdapterStatusChanged;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.support.Outbox;
import io.lamina.support.ProcessedEvents;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;

/** Registers adapters (after checking their weights), changes statuses and moves aliases. */
@Service
public class RegistryService {
    public static final String PRODUCTION_ALIAS = "production";
    public static final Set<String> STATUSES = Set.of("CANDIDATE", "PROMOTED", "REJECTED", "RETIRED");

    private final AdapterRepository repository;
    private final BlobStore blobs;
    private final TransactionTemplate tx;
    private final Outbox outbox;
    private final ProcessedEvents processed;

    RegistryService(AdapterRepository repository, BlobStore blobs, TransactionTemplate tx, Outbox outbox,
                    ProcessedEvents processed) {
        this.repository = repository;
        this.blobs = blobs;
        this.tx = tx;
        this.outbox = outbox;
        this.processed = processed;
    }

    /** Registers without a waiting workflow (REST); see {@link #register(Registration, String, String)}. */
    public AdapterView register(Registration r) {
        return register(r, null, null);
    }

    /**
     * Registers an adapter; registering the same id again returns the existing entry. The blob
     * must exist, match the given sha256, and be a readable PEFT adapter. {@code AdapterRegistered}
     * (carrying {@code taskToken}) goes to the outbox in the transaction of the insert; a repeated
     * registration announces the existing entry again. {@code sourceEventId} (the command's event
     * id, or null) is recorded as processed in the same transaction.
     */
    public AdapterView register(Registration r, String taskToken, String sourceEventId) {
        UUID id = parseId(r.adapterId());
        if (r.streamId() == null || r.streamId().isBlank()) throw new IllegalArgumentException("streamId is required");
        if (r.blobKey() == null || !blobs.exists(r.blobKey())) throw new IllegalArgumentException("no blob '" + r.blobKey() + "' in the blob store");
        byte[] zip = blobs.get(r.blobKey());
        String sha256 = BlobStore.sha256Hex(zip);
        if (r.sha256() != null && !r.sha256().equals(sha256)) {
            throw new IllegalArgumentException("blob sha256 is " + sha256 + " but the registration says " + r.sha256());
        }
        Adapter adapter = PeftAdapterFormat.fromZip(zip);
        // the adapter's own PEFT config (every type writes its fields there: r, lora_alpha, use_dora, ia3's
        // feedforward_modules, LoKr's decompose_both, ...), so the summary never lags behind a new type
        Map<String, Object> config = new LinkedHashMap<>(Json.read(
                new String(PeftAdapterFormat.configOf(zip), java.nio.charset.StandardCharsets.UTF_8),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() { }));
        config.put("labels", adapter.head().labels());
        Map<String, Object> provenance = new LinkedHashMap<>(adapter.provenance().details());
        provenance.put("method", adapter.provenance().method());
        var row = new AdapterRepository.NewAdapter(id, r.streamId(), r.taskKey(), adapter.kind().name(), r.description(),
                r.blobKey(), sha256, zip.length, adapter.baseModelId(), adapter.baseFingerprint(), config,
                r.metrics() == null ? Map.of() : r.metrics(), provenance, r.lineage() == null ? List.of() : r.lineage());
        return tx.execute(s -> {
            if (sourceEventId != null) processed.markProcessed(sourceEventId);
            repository.insert(row);
            AdapterView a = get(id);
            outbox.enqueue(Topics.REGISTRY_EVENTS, new AdapterRegistered(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                    Messages.now(), a.streamId(), a.taskKey(), taskToken, a.adapterId(), a.version(), a.description(),
                    a.blobKey(), a.sha256(), a.baseFingerprint()));
            return a;
        });
    }

    /**
     * Changes an adapter's status (promotion moves the production alias) and puts
     * {@code AdapterStatusChanged} in the outbox, in one transaction. A re-delivered command
     * ({@code sourceEventId} already processed) is not applied again — an older command must not
     * undo a newer change — but the adapter's current status is announced again.
     */
    public AdapterView changeStatus(String adapterId, String status, String reason, String taskToken, String sourceEventId) {
        UUID id = parseId(adapterId);
        if (!STATUSES.contains(status)) throw new IllegalArgumentException("status must be one of " + STATUSES + ", got " + status);
        AdapterView current = get(id);
        return tx.execute(s -> {
            if (sourceEventId == null || processed.markProcessed(sourceEventId)) {
                repository.changeStatus(id, status, reason);
                if (status.equals("PROMOTED")) repository.moveAlias(current.streamId(), PRODUCTION_ALIAS, id);
            }
            AdapterView a = get(id);
            outbox.enqueue(Topics.REGISTRY_EVENTS, new AdapterStatusChanged(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                    Messages.now(), a.streamId(), taskToken, a.adapterId(), a.status(), a.statusReason()));
            return a;
        });
    }

    public AdapterView get(UUID id) {
        return repository.find(id).orElseThrow(() -> new NoSuchElementException("no adapter " + id));
    }

    public static UUID parseId(String id) {
        try {
            return UUID.fromString(id);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("adapter id '" + id + "' is not a UUID");
        }
    }
}

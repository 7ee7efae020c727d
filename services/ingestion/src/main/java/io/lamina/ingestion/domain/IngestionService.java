package io.lamina.ingestion.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.DatasetIngested;
import io.lamina.contracts.messages.DatasetRejected;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.support.MessagePublisher;
import io.lamina.support.ProcessedEvents;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * Validates and stores task datasets, then announces them.
 *
 * <p>Delivery: the dataset rows and the processed event id are written in one transaction; the
 * {@code DatasetIngested} event is published after commit. If that publish fails, the Kafka
 * consumer's retry (or the REST client's retry) runs again, finds the stored dataset by
 * content and publishes again, so an event can be repeated but never lost, and a dataset is
 * never stored twice. Downstream consumers are idempotent on {@code datasetId}.
 */
@Service
public class IngestionService {
    private final DatasetValidator validator = new DatasetValidator();
    private final DatasetStore store;
    private final ProcessedEvents processed;
    private final MessagePublisher publisher;
    private final TransactionTemplate tx;

    IngestionService(DatasetStore store, ProcessedEvents processed, MessagePublisher publisher, TransactionTemplate tx) {
        this.store = store;
        this.processed = processed;
        this.publisher = publisher;
        this.tx = tx;
    }

    /** The outcome: the dataset (new or an identical earlier one), or the reasons it was refused. */
    public sealed interface Outcome {
    }

    public record Accepted(StoredDataset dataset, boolean created) implements Outcome {
    }

    public record Rejected(List<String> reasons) implements Outcome {
    }

    public Outcome ingest(DatasetSubmission submission, String sourceEventId) {
        List<String> errors = validator.validate(submission);
        if (!errors.isEmpty()) {
            publishRejection(submission, sourceEventId, errors);
            return new Rejected(errors);
        }
        String sha256 = contentHash(submission);
        Outcome outcome = tx.execute(status -> {
            if (sourceEventId != null) processed.markProcessed(sourceEventId);
            var existing = store.findByTask(submission.streamId(), submission.taskKey());
            if (existing.isPresent()) {
                if (existing.get().sha256().equals(sha256)) return new Accepted(existing.get(), false);
                return new Rejected(List.of("stream '" + submission.streamId() + "' already has a different dataset for task '"
                        + submission.taskKey() + "' (datasets are immutable; use a new taskKey)"));
            }
            UUID id = UUID.nameUUIDFromBytes((submission.streamId() + "\n" + submission.taskKey() + "\n" + sha256)
                    .getBytes(StandardCharsets.UTF_8));
            store.insert(id, submission, sha256, sourceEventId);
            return new Accepted(store.find(id, false).orElseThrow(), true);
        });
        if (outcome instanceof Accepted accepted) {
            publish(announcement(accepted.dataset(), sourceEventId));
        } else if (outcome instanceof Rejected rejected) {
            publishRejection(submission, sourceEventId, rejected.reasons());
        }
        return outcome;
    }

    private void publishRejection(DatasetSubmission s, String sourceEventId, List<String> reasons) {
        String streamId = s.streamId() == null || s.streamId().isBlank() ? "unknown" : s.streamId();
        publish(new DatasetRejected(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), streamId,
                s.taskKey(), sourceEventId, reasons));
    }

    private void publish(LaminaMessage message) {
        publisher.publish(Topics.DATASET_EVENTS, message);
    }

    private static DatasetIngested announcement(StoredDataset d, String sourceEventId) {
        return new DatasetIngested(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), d.streamId(),
                d.datasetId(), d.taskKey(), d.name(), d.description(), d.labels(), d.trainSize(), d.testSize(),
                d.sha256(), sourceEventId);
    }

    /** sha256 of the canonical JSON of the dataset's content (labels and both splits). */
    static String contentHash(DatasetSubmission s) {
        try {
            byte[] canonical = Json.mapper().writeValueAsBytes(List.of(s.labels(), s.train(), s.test()));
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.lamina.ingestion.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.DatasetIngested;
import io.lamina.contracts.messages.DatasetRejected;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.support.MessagePublisher;
import io.lamina.support.Outbox;
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
 * <p>Delivery: the dataset rows, the processed event id and the {@code DatasetIngested} event
 * (in the outbox) are written in one transaction; the outbox relay publishes the event after
 * commit. A re-delivered or retried submission finds the stored dataset by content and announces
 * it again (in a new transaction), so an event can be repeated but never lost, and a dataset is
 * never stored twice. A conflicting dataset for an existing task is refused the same way
 * ({@code DatasetRejected} through the outbox); a submission that fails validation writes nothing
 * and its {@code DatasetRejected} is published directly. Downstream consumers are idempotent on
 * {@code datasetId}.
 */
@Service
public class IngestionService {
    private final DatasetValidator validator = new DatasetValidator();
    private final DatasetStore store;
    private final ProcessedEvents processed;
    private final MessagePublisher publisher;
    private final Outbox outbox;
    private final TransactionTemplate tx;

    IngestionService(DatasetStore store, ProcessedEvents processed, MessagePublisher publisher, Outbox outbox,
                     TransactionTemplate tx) {
        this.store = store;
        this.processed = processed;
        this.publisher = publisher;
        this.outbox = outbox;
        this.tx = tx;
    }

    /** The outcome: the dataset (new or an identical earlier one), or the reasons it was refused. */
    public sealed interface Outcome {
    }

    public record Accepted(StoredDataset dataset, boolean created) implements Outcome {
    }

    public record Rejected(List<String> reasons) implements Outcome {
    }

    public Outcome ingest(DatasetSubmission submitted, String sourceEventId) {
        DatasetSubmission submission = HeldOutTestSplit.ensure(submitted);
        List<String> errors = validator.validate(submission);
        if (!errors.isEmpty()) {
            // Nothing is stored, so there is nothing to commit with: published directly.
            publisher.publish(Topics.DATASET_EVENTS, rejection(submission, sourceEventId, errors));
            return new Rejected(errors);
        }
        String sha256 = contentHash(submission);
        Outcome outcome = tx.execute(status -> {
            if (sourceEventId != null) processed.markProcessed(sourceEventId);
            var existing = store.findByTask(submission.streamId(), submission.taskKey());
            if (existing.isPresent()) {
                if (existing.get().sha256().equals(sha256)) {
                    outbox.enqueue(Topics.DATASET_EVENTS, announcement(existing.get(), sourceEventId));
                    return new Accepted(existing.get(), false);
                }
                List<String> reasons = List.of("stream '" + submission.streamId() + "' already has a different dataset for task '"
                        + submission.taskKey() + "' (datasets are immutable; use a new taskKey)");
                outbox.enqueue(Topics.DATASET_EVENTS, rejection(submission, sourceEventId, reasons));
                return new Rejected(reasons);
            }
            UUID id = UUID.nameUUIDFromBytes((submission.streamId() + "\n" + submission.taskKey() + "\n" + sha256)
                    .getBytes(StandardCharsets.UTF_8));
            store.insert(id, submission, sha256, sourceEventId);
            StoredDataset stored = store.find(id, false).orElseThrow();
            outbox.enqueue(Topics.DATASET_EVENTS, announcement(stored, sourceEventId));
            return new Accepted(stored, true);
        });
        return outcome;
    }

    private static DatasetRejected rejection(DatasetSubmission s, String sourceEventId, List<String> reasons) {
        String streamId = s.streamId() == null || s.streamId().isBlank() ? "unknown" : s.streamId();
        return new DatasetRejected(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), streamId,
                s.taskKey(), sourceEventId, reasons);
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

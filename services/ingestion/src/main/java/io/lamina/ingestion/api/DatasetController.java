package io.lamina.ingestion.api;

import io.lamina.ingestion.domain.DatasetFile;
import io.lamina.ingestion.domain.DatasetStore;
import io.lamina.ingestion.domain.DatasetSubmission;
import io.lamina.ingestion.domain.IngestionService;
import io.lamina.ingestion.domain.StoredDataset;
import io.lamina.support.InvalidInputException;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.*;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.UUID;

@RestController
@RequestMapping("/api/datasets")
class DatasetController {
    private final IngestionService ingestion;
    private final DatasetStore store;

    DatasetController(IngestionService ingestion, DatasetStore store) {
        this.ingestion = ingestion;
        this.store = store;
    }

    record DatasetAccepted(String datasetId, boolean created) {
    }

    /** @param total how many datasets match the filters, over all pages */
    record DatasetPage(List<StoredDataset> items, int page, int size, long total) {
    }

    @Operation(summary = "Upload a task dataset; 202 with its id, or 400 naming every invalid record")
    @PostMapping
    ResponseEntity<DatasetAccepted> upload(@RequestBody DatasetSubmission submission) {
        IngestionService.Outcome outcome = ingestion.ingest(submission, null);
        if (outcome instanceof IngestionService.Rejected rejected) {
            throw new InvalidInputException("Dataset rejected", rejected.reasons());
        }
        var accepted = (IngestionService.Accepted) outcome;
        return ResponseEntity.status(HttpStatus.ACCEPTED)
                .body(new DatasetAccepted(accepted.dataset().datasetId(), accepted.created()));
    }

    @Operation(summary = "Upload a task dataset as a file: CSV with a header (text,label[,split]) or JSON Lines "
            + "({text, label, split?} per line); 202 with its id, or 400 naming every bad line")
    @PostMapping(consumes = {"text/csv", "application/x-ndjson", "application/jsonl"})
    ResponseEntity<DatasetAccepted> uploadFile(@RequestHeader("Content-Type") String contentType, @RequestBody byte[] body,
                                               @RequestParam(required = false) String streamId,
                                               @RequestParam(required = false) String taskKey,
                                               @RequestParam(required = false) String name,
                                               @RequestParam(required = false) String description,
                                               @RequestParam(required = false) List<String> labels) {
        DatasetFile.Format format = contentType.toLowerCase(java.util.Locale.ROOT).startsWith("text/csv") ? DatasetFile.Format.CSV : DatasetFile.Format.JSONL;
        String text;
        try {
            text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(body)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("the file is not valid UTF-8");
        }
        return upload(DatasetFile.read(format, text, streamId, taskKey, name, description, labels));
    }

    @Operation(summary = "List datasets in the order they came, optionally of one stream, and with q only those whose "
            + "stream id, task key or name contains it (ignoring case); page by page, with the total")
    @GetMapping
    DatasetPage list(@RequestParam(required = false) String streamId, @RequestParam(required = false) String q,
                     @RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "50") int size) {
        if (page < 0 || size < 1 || size > 1000) throw new IllegalArgumentException("page must be >= 0 and size in [1, 1000]");
        if (q != null && q.length() > 200) throw new IllegalArgumentException("q must be at most 200 characters");
        String stream = streamId == null || streamId.isBlank() ? null : streamId;
        return new DatasetPage(store.list(stream, q, page * size, size), page, size, store.count(stream, q));
    }

    @Operation(summary = "One dataset; with records=true, its train and test records")
    @GetMapping("/{id}")
    StoredDataset get(@PathVariable String id, @RequestParam(defaultValue = "false") boolean records) {
        return store.find(uuid(id), records).orElseThrow(() -> new NoSuchElementException("no dataset " + id));
    }

    @Operation(summary = "How many train and test records each of the dataset's labels has")
    @GetMapping("/{id}/labels")
    List<DatasetStore.LabelCount> labels(@PathVariable String id) {
        return store.labelCounts(store.find(uuid(id), false).orElseThrow(() -> new NoSuchElementException("no dataset " + id)));
    }

    private static UUID uuid(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("dataset id '" + id + "' is not a UUID");
        }
    }
}

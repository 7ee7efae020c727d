package io.lamina.registry.api;

import io.lamina.engine.adapter.AdapterType;
import io.lamina.engine.io.BlobStore;
import io.lamina.registry.domain.AdapterRepository;
import io.lamina.registry.domain.AdapterView;
import io.lamina.registry.domain.LineageGraph;
import io.lamina.registry.domain.LineageGraphs;
import io.lamina.registry.domain.Registration;
import io.lamina.registry.domain.RegistryService;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.*;

import java.util.List;

@RestController
@RequestMapping("/api/adapters")
class AdapterController {
    private final RegistryService registry;
    private final AdapterRepository repository;
    private final BlobStore blobs;
    private final LineageGraphs lineage;

    AdapterController(RegistryService registry, AdapterRepository repository, BlobStore blobs, LineageGraphs lineage) {
        this.registry = registry;
        this.repository = repository;
        this.blobs = blobs;
        this.lineage = lineage;
    }

    /** @param total how many adapters match the filters, over all pages */
    record AdapterPage(List<AdapterView> items, int page, int size, long total) {
    }

    @Operation(summary = "List adapters by stream and version, filtered by stream, status, type (e.g. LORA), task, and q "
            + "(a part of the stream id, task key, description or adapter id, ignoring case); page by page, with the total")
    @GetMapping
    AdapterPage list(@RequestParam(required = false) String streamId, @RequestParam(required = false) String status,
                     @RequestParam(required = false) String type, @RequestParam(required = false) String taskKey,
                     @RequestParam(required = false) String q,
                     @RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "50") int size) {
        if (page < 0 || size < 1 || size > 1000) throw new IllegalArgumentException("page must be >= 0 and size in [1, 1000]");
        if (status != null && !RegistryService.STATUSES.contains(status)) {
            throw new IllegalArgumentException("status must be one of " + RegistryService.STATUSES);
        }
        if (q != null && q.length() > 200) throw new IllegalArgumentException("q must be at most 200 characters");
        var filter = new AdapterRepository.Filter(blankToNull(streamId), status, blankToNull(type), blankToNull(taskKey), blankToNull(q));
        return new AdapterPage(repository.list(filter, page * size, size), page, size, repository.count(filter));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    @Operation(summary = "The adapter's lineage graph: its ancestors and descendants up to depth (1-10, default 4) as nodes "
            + "(adapters, datasets, uploads) and edges child -> parent with the relation (trained-on, merged-from, "
            + "warm-started-from, continued-from, shares-weights-of, ...)")
    @GetMapping("/{id}/lineage")
    LineageGraph lineage(@PathVariable String id, @RequestParam(defaultValue = "4") int depth) {
        return lineage.of(RegistryService.parseId(id), depth);
    }

    /** One entry of the engine's registry of adapter types, as the API shows it. */
    record AdapterTypeInfo(String id, String kind, String peftType, boolean peftInterchange, boolean mergeable, boolean startsAtBase,
                           String summary) {
    }

    @Operation(summary = "The adapter types a stream policy can name (adapter.type), with the peft_type their files carry, "
            + "whether PEFT reads them, whether merges combine them, and whether a fresh one equals the base model")
    @GetMapping("/types")
    List<AdapterTypeInfo> types() {
        return AdapterType.ALL.stream().map(t -> new AdapterTypeInfo(t.id(), t.kind().name(), t.peftType(), t.peftInterchange(),
                t.mergeable(), t.startsAtBase(), t.summary())).toList();
    }

    @Operation(summary = "One adapter with its lineage, aliases, config and metrics")
    @GetMapping("/{id}")
    AdapterView get(@PathVariable String id) {
        return registry.get(RegistryService.parseId(id));
    }

    @Operation(summary = "Download the adapter as a PEFT directory (zip: adapter_config.json, adapter_model.safetensors, head)")
    @GetMapping(value = "/{id}/peft", produces = "application/zip")
    ResponseEntity<byte[]> peft(@PathVariable String id) {
        AdapterView adapter = registry.get(RegistryService.parseId(id));
        byte[] zip = blobs.get(adapter.blobKey());
        return ResponseEntity.ok()
                .contentType(MediaType.parseMediaType("application/zip"))
                .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment()
                        .filename("adapter-" + adapter.streamId() + "-v" + adapter.version() + ".zip").build().toString())
                .header(HttpHeaders.ETAG, "\"" + adapter.sha256() + "\"")
                .body(zip);
    }

    record StatusChange(String status, String reason) {
    }

    @Operation(summary = "Promote, retire, reject or demote an adapter by hand (operators); predictions follow at once, "
            + "and AdapterStatusChanged is announced")
    @PostMapping("/{id}/status")
    AdapterView changeStatus(@PathVariable String id, @RequestBody StatusChange change) {
        if (change == null || change.status() == null) throw new IllegalArgumentException("status is required: one of " + RegistryService.STATUSES);
        String reason = change.reason() == null || change.reason().isBlank() ? "set by an operator" : "set by an operator: " + change.reason();
        if (reason.length() > 500) throw new IllegalArgumentException("reason must be at most 500 characters");
        return registry.changeStatus(id, change.status(), reason, null, null);
    }

    @Operation(summary = "Register an adapter whose PEFT zip is already in the blob store (used by composition for merges)")
    @PostMapping
    ResponseEntity<AdapterView> register(@RequestBody Registration registration) {
        // Announced like any registration, through the outbox (no task token: no workflow is waiting for it).
        AdapterView a = registry.register(registration);
        return ResponseEntity.status(HttpStatus.CREATED).body(a);
    }
}

package io.lamina.support;

import io.lamina.contracts.LabeledText;
import org.springframework.web.client.RestClient;

import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.UUID;

/** Small HTTP clients for the services' read APIs (each service owns its data; others ask it). */
public class ServiceClients {
    private final RestClient ingestion;
    private final RestClient registry;

    public ServiceClients(LaminaProperties.ServiceUrls urls, RestClient.Builder builder) {
        this.ingestion = builder.clone().baseUrl(urls.ingestion()).build();
        this.registry = builder.clone().baseUrl(urls.registry()).build();
    }

    /** A stored dataset with its records, as served by ingestion's {@code GET /api/datasets/{id}}. */
    public record Dataset(String datasetId, String streamId, String taskKey, String name, String description,
                          List<String> labels, String sha256, List<LabeledText> train, List<LabeledText> test) {
    }

    /** An adapter's registry entry, as served by {@code GET /api/adapters/{id}}. */
    public record AdapterEntry(String adapterId, String streamId, String taskKey, String type, int version,
                               String status, String description, String blobKey, String sha256,
                               String baseFingerprint, Map<String, Object> config, Map<String, Double> metrics) {
    }

    public record AdapterPage(List<AdapterEntry> items) {
    }

    /**
     * @throws IllegalArgumentException if the id is not a UUID (nothing else may reach another
     *                                  service's URL: no "../x")
     * @throws NoSuchElementException   if ingestion has no such dataset
     */
    public Dataset dataset(String datasetId) {
        requireUuid("dataset id", datasetId);
        return ingestion.get().uri("/api/datasets/{id}?records=true", datasetId).retrieve()
                .onStatus(s -> s.value() == 404, (request, response) -> {
                    throw new NoSuchElementException("no dataset " + datasetId);
                })
                .body(Dataset.class);
    }

    private record DatasetSummary(String datasetId, String taskKey) {
    }

    private record DatasetSummaryPage(List<DatasetSummary> items) {
    }

    /** The dataset of a stream's task (with its records). */
    public Dataset dataset(String streamId, String taskKey) {
        int page = 0;
        while (true) {
            int p = page;
            DatasetSummaryPage found = ingestion.get().uri(b -> b.path("/api/datasets").queryParam("streamId", streamId)
                    .queryParam("page", p).queryParam("size", 200).build()).retrieve().body(DatasetSummaryPage.class);
            if (found == null || found.items() == null || found.items().isEmpty()) {
                throw new NoSuchElementException("stream " + streamId + " has no dataset for task " + taskKey);
            }
            for (DatasetSummary d : found.items()) {
                if (taskKey.equals(d.taskKey())) return dataset(d.datasetId());
            }
            page++;
        }
    }

    /** As {@link #dataset}, for the registry's adapters. */
    public AdapterEntry adapter(String adapterId) {
        requireUuid("adapter id", adapterId);
        return registry.get().uri("/api/adapters/{id}", adapterId).retrieve()
                .onStatus(s -> s.value() == 404, (request, response) -> {
                    throw new NoSuchElementException("no registered adapter " + adapterId);
                })
                .body(AdapterEntry.class);
    }

    public static void requireUuid(String what, String id) {
        boolean valid;
        try {
            valid = id != null && UUID.fromString(id).toString().equalsIgnoreCase(id);
        } catch (IllegalArgumentException e) {
            valid = false;
        }
        if (!valid) {
            String shown = id == null ? "null" : id.length() > 80 ? id.substring(0, 80) + "…" : id;
            throw new IllegalArgumentException(what + " '" + shown + "' is not a UUID");
        }
    }

    /** The stream's adapters, with {@code status} only ({@code null}: every status). */
    public List<AdapterEntry> adapters(String streamId, String status) {
        AdapterPage page = registry.get().uri(b -> b.path("/api/adapters").queryParam("streamId", streamId)
                .queryParamIfPresent("status", java.util.Optional.ofNullable(status)).queryParam("size", 1000).build()).retrieve().body(AdapterPage.class);
        return page == null ? List.of() : page.items();
    }

    public RestClient registry() {
        return registry;
    }
}

package io.lamina.composition.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.contracts.LineageEdge;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.BlobRef;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.support.ServiceClients;
import org.springframework.stereotype.Service;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Registers a LoRA (incl. DoRA), IA3, LoKr or prompt-tuning adapter trained elsewhere with PEFT. PEFT has no classification head for a
 * sentence encoder, so the adapter gets Lamina's: the class means of the task's training examples
 * under the imported adapter (and under the base model, for retrieval), from the dataset already
 * uploaded for that task. The weights are used exactly as PEFT saved them.
 */
@Service
public class AdapterImports {
    public static final String IMPORTED = "imported";
    public static final String IMPORTED_FROM = "imported-from";

    private final BaseModel base;
    private final LoraTrainer trainer;
    private final BlobStore blobs;
    private final ServiceClients clients;

    AdapterImports(BaseModel base, BlobStore blobs, ServiceClients clients) {
        this.base = base;
        this.trainer = new LoraTrainer(base);
        this.blobs = blobs;
        this.clients = clients;
    }

    public record Imported(String adapterId, String streamId, String taskKey, int rank, List<String> targetModules,
                           List<String> labels, String sha256) {
    }

    public Imported importZip(byte[] zip, String streamId, String taskKey, String name) {
        if (streamId == null || streamId.isBlank()) throw new IllegalArgumentException("streamId is required");
        if (taskKey == null || taskKey.isBlank()) throw new IllegalArgumentException("taskKey is required");
        if (zip == null || zip.length == 0) throw new IllegalArgumentException("file is required: a zip of a PEFT adapter directory");
        PeftAdapterFormat.PeftImport peft = PeftAdapterFormat.importPeft(zip, base.layers(), base.hiddenSize(), base.intermediateSize());
        ServiceClients.Dataset dataset;
        try {
            dataset = clients.dataset(streamId, taskKey);
        } catch (NoSuchElementException e) {
            throw new IllegalArgumentException(e.getMessage() + ": upload the task's dataset first, the adapter's head is built from its training examples");
        }
        String uploadSha = sha256(zip);
        Map<String, String> details = new TreeMap<>(peft.details());
        details.put("stream-id", streamId);
        details.put("task-key", taskKey);
        details.put("upload-sha256", uploadSha);
        details.put("head-from-dataset", dataset.datasetId());
        Adapter weightsOnly = peft.toAdapter(null, base.id(), base.fingerprint(), new AdapterProvenance(IMPORTED, details));
        List<LabeledText> train = dataset.train();
        PrototypeHead head = trainer.prototypeHead(weightsOnly, train, dataset.labels(), BaseModel.DEFAULT_MAX_TOKENS, 0L);
        Adapter adapter = weightsOnly.withHead(head);
        BlobRef ref = blobs.put(PeftAdapterFormat.toZip(adapter));
        // the same upload for the same task is the same adapter: importing twice registers it once
        String adapterId = UUID.nameUUIDFromBytes((streamId + "\n" + taskKey + "\n" + ref.sha256()).getBytes(StandardCharsets.UTF_8)).toString();
        Map<String, Object> registration = new LinkedHashMap<>();
        registration.put("adapterId", adapterId);
        registration.put("streamId", streamId);
        registration.put("taskKey", taskKey);
        registration.put("blobKey", ref.key());
        registration.put("sha256", ref.sha256());
        registration.put("description", name != null && !name.isBlank() ? name : "PEFT " + peft.kind().peftType() + " imported for " + taskKey);
        registration.put("lineage", List.of(new LineageEdge("upload:sha256:" + uploadSha, IMPORTED_FROM),
                new LineageEdge("dataset:" + dataset.datasetId(), "head-from")));
        clients.registry().post().uri("/api/adapters").body(registration).retrieve().toBodilessEntity();
        // rank: LoRA's and LoKr's r, prompt tuning's number of virtual tokens, 0 for (IA)^3 (no rank)
        return new Imported(adapterId, streamId, taskKey, peft.size(), peft.targetModules(), head.labels(), ref.sha256());
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

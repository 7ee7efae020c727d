package io.lamina.support;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;

/**
 * Loads registered adapters (registry entry → blob → PEFT zip → {@link Adapter}) and keeps
 * recently used ones in memory under a budget in bytes, not in count: adapter sizes differ by
 * orders of magnitude (a rank-1 LoRA on one module vs a rank-256 merge on every projection).
 * Registered adapters are immutable, so the cache never goes stale.
 */
public class AdapterLoader {
    private final ServiceClients clients;
    private final BlobStore blobs;
    private final Cache<String, Adapter> cache;

    public AdapterLoader(ServiceClients clients, BlobStore blobs, long maxBytes) {
        this.clients = clients;
        this.blobs = blobs;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((String id, Adapter a) -> (int) Math.min(Integer.MAX_VALUE, sizeBytes(a)))
                .build();
    }

    public Adapter load(String adapterId) {
        return cache.get(adapterId, id -> fromBlob(clients.adapter(id).blobKey()));
    }

    public Adapter fromBlob(String blobKey) {
        return PeftAdapterFormat.fromZip(blobs.get(blobKey));
    }

    /** Bytes the adapter's tensors take in memory (float32). */
    public static long sizeBytes(Adapter a) {
        return 4 * a.trainableParameters();
    }

    /** Estimated bytes held now (for metrics and tests). */
    public long cachedBytes() {
        return cache.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
    }
}

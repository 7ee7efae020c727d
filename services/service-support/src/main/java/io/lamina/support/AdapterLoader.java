package io.lamina.support;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Loads registered adapters (registry entry → blob → PEFT zip → {@link Adapter}) and keeps the
 * most recently used ones in memory. Registered adapters are immutable, so the cache never
 * goes stale.
 */
public class AdapterLoader {
    private static final int CAPACITY = 256;

    private final ServiceClients clients;
    private final BlobStore blobs;
    private final Map<String, Adapter> cache = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Adapter> eldest) {
            return size() > CAPACITY;
        }
    });

    public AdapterLoader(ServiceClients clients, BlobStore blobs) {
        this.clients = clients;
        this.blobs = blobs;
    }

    public Adapter load(String adapterId) {
        Adapter cached = cache.get(adapterId);
        if (cached != null) return cached;
        ServiceClients.AdapterEntry entry = clients.adapter(adapterId);
        Adapter adapter = fromBlob(entry.blobKey());
        cache.put(adapterId, adapter);
        return adapter;
    }

    public Adapter fromBlob(String blobKey) {
        return PeftAdapterFormat.fromZip(blobs.get(blobKey));
    }
}

package io.lamina.hypernetwork.domain;

import io.lamina.engine.model.BaseModel;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

import java.sql.Array;
import java.util.List;
import java.util.Optional;

/**
 * Every registered adapter, indexed by the frozen base model's (normalised) embedding of its
 * task description; answers the nearest adapter to a new description by cosine similarity.
 * A linear scan: registries of thousands of adapters are scanned in milliseconds.
 */
@Service
public class AdapterIndex {
    private final BaseModel base;
    private final JdbcTemplate jdbc;

    AdapterIndex(BaseModel base, JdbcTemplate jdbc) {
        this.base = base;
        this.jdbc = jdbc;
    }

    public record Entry(String adapterId, String streamId, String description, String blobKey) {
    }

    public record Nearest(Entry entry, double similarity) {
    }

    /** @param trained whether generators learn from it ({@link Generators#learnsFrom}) */
    public void add(String adapterId, String streamId, String description, String blobKey, String baseFingerprint, boolean trained) {
        String text = description == null || description.isBlank() ? "(no description)" : description;
        float[] embedding = base.embed(List.of(text), null)[0];
        Float[] boxed = new Float[embedding.length];
        for (int i = 0; i < embedding.length; i++) boxed[i] = embedding[i];
        jdbc.update(con -> {
            var ps = con.prepareStatement("""
                    insert into adapter_index(adapter_id, stream_id, description, blob_key, base_fingerprint, embedding, trained)
                    values (?, ?, ?, ?, ?, ?, ?) on conflict (adapter_id) do nothing""");
            ps.setString(1, adapterId);
            ps.setString(2, streamId);
            ps.setString(3, text);
            ps.setString(4, blobKey);
            ps.setString(5, baseFingerprint == null ? "" : baseFingerprint);
            ps.setArray(6, con.createArrayOf("float4", boxed));
            ps.setBoolean(7, trained);
            return ps;
        });
    }

    public Optional<Nearest> nearest(String description) {
        if (description == null || description.isBlank()) throw new IllegalArgumentException("description is required");
        float[] query = base.embed(List.of(description), null)[0];
        Nearest best = null;
        for (var row : jdbc.query("select adapter_id, stream_id, description, blob_key, embedding from adapter_index",
                (rs, n) -> new Object[]{new Entry(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)), toFloats(rs.getArray(5))})) {
            float[] e = (float[]) row[1];
            double dot = 0;
            for (int i = 0; i < e.length; i++) dot += e[i] * query[i];
            if (best == null || dot > best.similarity()) best = new Nearest((Entry) row[0], dot);
        }
        return Optional.ofNullable(best);
    }

    public List<Entry> entries() {
        return jdbc.query("select adapter_id, stream_id, description, blob_key from adapter_index order by indexed_at",
                (rs, n) -> new Entry(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
    }

    private static float[] toFloats(Array array) throws java.sql.SQLException {
        Object[] values = (Object[]) array.getArray();
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) out[i] = ((Number) values[i]).floatValue();
        return out;
    }
}

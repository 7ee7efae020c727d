package io.lamina.registry.domain;

import com.fasterxml.jackson.core.type.TypeReference;
import io.lamina.contracts.Json;
import io.lamina.contracts.LineageEdge;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Repository;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The registry schema: adapters, lineage edges and aliases. */
@Repository
public class AdapterRepository {
    private final JdbcTemplate jdbc;

    AdapterRepository(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public record NewAdapter(UUID id, String streamId, String taskKey, String type, String description, String blobKey,
                             String sha256, long sizeBytes, String baseModelId, String baseFingerprint,
                             Map<String, Object> config, Map<String, Double> metrics, Map<String, Object> provenance,
                             List<LineageEdge> lineage) {
    }

    /** Inserts with the stream's next version; false if the id already exists (idempotent). */
    public boolean insert(NewAdapter a) {
        // Serialise version allocation per stream.
        jdbc.query("select pg_advisory_xact_lock(hashtext(?))", rs -> null, a.streamId());
        int inserted = jdbc.update("""
                insert into adapter(id, stream_id, task_key, type, version, status, description, blob_key, sha256, size_bytes,
                                    base_model_id, base_fingerprint, config, metrics, provenance)
                values (?, ?, ?, ?, (select coalesce(max(version), 0) + 1 from adapter where stream_id = ?), 'CANDIDATE',
                        ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb)
                on conflict (id) do nothing""",
                a.id(), a.streamId(), a.taskKey(), a.type(), a.streamId(), a.description() == null ? "" : a.description(),
                a.blobKey(), a.sha256(), a.sizeBytes(), a.baseModelId(), a.baseFingerprint(), Json.write(a.config()),
                Json.write(a.metrics()), Json.write(a.provenance()));
        if (inserted == 0) return false;
        for (LineageEdge edge : a.lineage()) {
            jdbc.update("insert into adapter_lineage(adapter_id, parent_id, relation) values (?, ?, ?) on conflict do nothing",
                    a.id(), edge.parentId(), edge.relation());
        }
        return true;
    }

    /** The adapters with these ids (those that exist). */
    public List<AdapterView> findAll(java.util.Collection<UUID> ids) {
        if (ids.isEmpty()) return List.of();
        return jdbc.query("select * from adapter where id = any(?::uuid[]) order by stream_id, version", view(),
                (Object) ids.stream().map(UUID::toString).toArray(String[]::new));
    }

    public Optional<AdapterView> find(UUID id) {
        return jdbc.query("select * from adapter where id = ?", view(), id).stream().findFirst();
    }

    /**
     * What a list of adapters is narrowed to; null fields do not narrow. {@code text} matches, ignoring case,
     * a part of the stream id, task key or description, or the start of the adapter id.
     */
    public record Filter(String streamId, String status, String type, String taskKey, String text) {
    }

    public List<AdapterView> list(Filter filter, int offset, int limit) {
        List<Object> args = new ArrayList<>();
        String where = where(filter, args);
        args.add(offset);
        args.add(limit);
        return jdbc.query("select * from adapter" + where + " order by stream_id, version offset ? limit ?", view(), args.toArray());
    }

    public long count(Filter filter) {
        List<Object> args = new ArrayList<>();
        Long n = jdbc.queryForObject("select count(*) from adapter" + where(filter, args), Long.class, args.toArray());
        return n == null ? 0 : n;
    }

    private static String where(Filter f, List<Object> args) {
        StringBuilder sql = new StringBuilder(" where true");
        if (f.streamId() != null) {
            sql.append(" and stream_id = ?");
            args.add(f.streamId());
        }
        if (f.status() != null) {
            sql.append(" and status = ?");
            args.add(f.status());
        }
        if (f.type() != null) {
            sql.append(" and type = ?");
            args.add(f.type());
        }
        if (f.taskKey() != null) {
            sql.append(" and task_key = ?");
            args.add(f.taskKey());
        }
        if (f.text() != null && !f.text().isBlank()) {
            String like = "%" + f.text().strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
            sql.append(" and (stream_id ilike ? or coalesce(task_key, '') ilike ? or description ilike ? or id::text ilike ?)");
            args.addAll(List.of(like, like, like, like));
        }
        return sql.toString();
    }

    /** The lineage edges (child adapter, parent, relation) whose child is one of {@code adapterIds}. */
    public List<LineageLink> parentsOf(java.util.Collection<UUID> adapterIds) {
        if (adapterIds.isEmpty()) return List.of();
        return jdbc.query("select adapter_id, parent_id, relation from adapter_lineage where adapter_id = any(?::uuid[]) order by adapter_id, relation, parent_id",
                (rs, n) -> new LineageLink(rs.getString(1), rs.getString(2), rs.getString(3)),
                (Object) adapterIds.stream().map(UUID::toString).toArray(String[]::new));
    }

    /** The lineage edges whose parent is one of {@code parentIds} (adapter ids, or ids such as {@code dataset:<id>}). */
    public List<LineageLink> childrenOf(java.util.Collection<String> parentIds) {
        if (parentIds.isEmpty()) return List.of();
        return jdbc.query("select adapter_id, parent_id, relation from adapter_lineage where parent_id = any(?::text[]) order by adapter_id, relation, parent_id",
                (rs, n) -> new LineageLink(rs.getString(1), rs.getString(2), rs.getString(3)), (Object) parentIds.toArray(String[]::new));
    }

    /** One edge of the lineage graph: adapter {@code child} was {@code relation} {@code parent}. */
    public record LineageLink(String child, String parent, String relation) {
    }

    public void changeStatus(UUID id, String status, String reason) {
        jdbc.update("update adapter set status = ?, status_reason = ?, updated_at = now() where id = ?", status, reason, id);
    }

    public void moveAlias(String streamId, String alias, UUID adapterId) {
        jdbc.update("""
                insert into adapter_alias(stream_id, alias, adapter_id) values (?, ?, ?)
                on conflict (stream_id, alias) do update set adapter_id = excluded.adapter_id, updated_at = now()""",
                streamId, alias, adapterId);
    }

    private RowMapper<AdapterView> view() {
        return (rs, n) -> {
            UUID id = rs.getObject("id", UUID.class);
            List<LineageEdge> lineage = jdbc.query("select parent_id, relation from adapter_lineage where adapter_id = ? order by relation, parent_id",
                    (r, i) -> new LineageEdge(r.getString(1), r.getString(2)), id);
            List<String> aliases = jdbc.queryForList("select alias from adapter_alias where adapter_id = ? order by alias", String.class, id);
            return new AdapterView(id.toString(), rs.getString("stream_id"), rs.getString("task_key"), rs.getString("type"),
                    rs.getInt("version"), rs.getString("status"), rs.getString("status_reason"), rs.getString("description"),
                    rs.getString("blob_key"), rs.getString("sha256"), rs.getLong("size_bytes"), rs.getString("base_model_id"),
                    rs.getString("base_fingerprint"), Json.read(rs.getString("config"), new TypeReference<>() { }),
                    Json.read(rs.getString("metrics"), new TypeReference<>() { }),
                    Json.read(rs.getString("provenance"), new TypeReference<>() { }), lineage, aliases,
                    rs.getObject("created_at", Timestamp.class).toInstant(), rs.getObject("updated_at", Timestamp.class).toInstant());
        };
    }


}

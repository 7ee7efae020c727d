package io.lamina.engine.serving;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Mixed-adapter batched inference (the SGMV/BGMV idea of Punica and S-LoRA, on DJL): one forward
 * over a batch whose rows use different LoRA adapters. Every layer computes the base Q|K|V
 * projection once for the whole batch and adds each row's own unmerged LoRA delta
 * {@code x A^T B^T}, so the adapters share one batched forward instead of one forward each.
 *
 * <p>Per call, the distinct adapters (more generally, distinct {@link LoraBlend}s: a blend of several
 * adapters is the LoRA whose factors are theirs stacked) become <i>slots</i>. Per layer their factors
 * are stacked on the device as {@code A^T: [S, H, W]} and {@code B^T: [S, W, 3H]}, where each target
 * projection gets a rank block of the largest rank any slot has for it (smaller ranks and missing
 * targets padded with zeros, which add exactly nothing) and {@code B^T} carries the scaling
 * {@code w alpha / r} (times the folded attention scale on the query block) and writes straight into
 * the fused Q|K|V columns. Base rows ({@code null}) use an all-zero slot, or no delta at all when a
 * whole chunk is base rows.
 *
 * <p>Rows are sorted by token length, then by slot, and run in chunks of at most
 * {@value #DEFAULT_CHUNK} rows whose boundaries trade padding against the fixed cost of a forward
 * ({@link #chunkBounds}). How a chunk's deltas are computed is the {@link Strategy}; the default,
 * {@link Strategy#GATHER}, was the fastest measured on CPU once a chunk holds more than a couple of
 * adapters (see {@code io.lamina.engine.bench.MixedBatchBenchmark}). A chunk whose rows all use one
 * slot always takes the plain two-matmul path.
 *
 * <p>Each row's embedding equals {@code base.embed(List.of(text), adapter)} (merged weights) up to
 * float rounding (well within 1e-5 on normalised embeddings). Instances hold no native memory and are
 * thread-safe.
 */
public final class MixedAdapterEncoder {
    /** The most rows one forward takes (as in {@link BaseModel#embed(List, Adapter)}). */
    public static final int DEFAULT_CHUNK = 64;
    /**
     * The fixed cost of one forward in units of one token's compute (about 3.6 ms against 0.21 ms per
     * token, measured single-threaded on MiniLM): what {@link #chunkBounds} weighs padding against.
     */
    static final int CHUNK_OVERHEAD_TOKENS = 16;

    /** How a chunk with rows of several slots gets its LoRA deltas. */
    public enum Strategy {
        /**
         * BGMV: gather each row's factors ({@code A^T[idx]: [B, H, W]}, {@code B^T[idx]: [B, W, 3H]}) and
         * two batched matmuls over {@code [B, L, H]}: a constant six ops per layer whatever the number of
         * adapters, and the fewest flops.
         */
        GATHER,
        /**
         * SGMV-like: rows are contiguous per slot within a chunk, and each slot's segment gets two plain
         * matmuls, then the pieces are concatenated: ops grow with the adapters per chunk.
         */
        GROUPED,
        /**
         * Every row through every slot's {@code A} ({@code [N, S*W]}), masked to its own slot, then one
         * matmul with all {@code B}s stacked: three big ops, but flops grow with the number of slots.
         */
        DENSE
    }

    private static final String[] MODULES = {"query", "key", "value"};

    private final BaseModel base;
    private final Strategy strategy;
    private final int chunk;
    private final int hidden;
    private final int layers;
    private final float qScale;

    public MixedAdapterEncoder(BaseModel base) {
        this(base, Strategy.GATHER, DEFAULT_CHUNK);
    }

    /**
     * With a given strategy and most rows per forward (for benchmarks and tests; the defaults are the
     * measured best).
     */
    public MixedAdapterEncoder(BaseModel base, Strategy strategy, int chunkSize) {
        if (chunkSize < 1) throw new IllegalArgumentException("chunk size must be positive, got " + chunkSize);
        this.base = base;
        this.strategy = strategy;
        this.chunk = chunkSize;
        this.hidden = base.hiddenSize();
        this.layers = base.layers();
        // the same float BaseModel folds into the query weights and its merged query deltas
        this.qScale = (float) (1.0 / Math.sqrt(hidden / (double) base.attentionHeads()));
    }

    public BaseModel base() { return base; }

    /**
     * Embeddings of {@code texts[i]} under {@code adapterPerRow[i]} ({@code null}: the base model), in
     * one mixed forward per chunk, at most {@value BaseModel#DEFAULT_MAX_TOKENS} tokens per text.
     *
     * @return {@code [texts.size()][hidden]}, mean-pooled and L2-normalised, in the order of {@code texts}
     */
    public float[][] embed(List<String> texts, List<Adapter> adapterPerRow) {
        return embed(texts, adapterPerRow, BaseModel.DEFAULT_MAX_TOKENS);
    }

    /** {@link #embed(List, List)} with a given token limit. */
    public float[][] embed(List<String> texts, List<Adapter> adapterPerRow, int maxLength) {
        if (adapterPerRow.size() != texts.size()) throw new IllegalArgumentException(texts.size() + " texts but " + adapterPerRow.size() + " adapters");
        return embedTokens(base.tokenize(texts, maxLength), blends(adapterPerRow));
    }

    /** Like {@link #embed(List, List)} with a blend of adapters per row ({@code null}: the base model). */
    public float[][] embedBlends(List<String> texts, List<LoraBlend> blendPerRow) {
        if (blendPerRow.size() != texts.size()) throw new IllegalArgumentException(texts.size() + " texts but " + blendPerRow.size() + " blends");
        return embedTokens(base.tokenize(texts, BaseModel.DEFAULT_MAX_TOKENS), blendPerRow);
    }

    /** One blend object per distinct adapter instance, so rows of one adapter share a slot cheaply. */
    static List<LoraBlend> blends(List<Adapter> adapterPerRow) {
        Map<Adapter, LoraBlend> one = new IdentityHashMap<>();
        List<LoraBlend> out = new ArrayList<>(adapterPerRow.size());
        for (Adapter a : adapterPerRow) out.add(a == null ? null : one.computeIfAbsent(a, LoraBlend::of));
        return out;
    }

    /**
     * The core: token ids (see {@link BaseModel#tokenize}) with a blend per row ({@code null}: base).
     *
     * @return {@code [ids.size()][hidden]} in the order of {@code ids}
     */
    private static boolean gated(LoraBlend b) {
        return b != null && b.adapters().stream().anyMatch(a -> !a.isStackableLora());
    }

    /**
     * MoRA's gate is not linear in the factors, DoRA rescales each row of {@code W + ΔW} by its own
     * norm and (IA)^3 multiplies activations, so their rows cannot share the stacked LoRA pass (which
     * adds {@code x A^T B^T} to the base projection): each such adapter's rows run through the base
     * model's own forward with that adapter, the others through the mixed pass. Such an adapter can
     * only be used alone with weight 1.
     */
    private float[][] withGatedRows(List<long[]> ids, List<LoraBlend> blendPerRow) {
        float[][] out = new float[ids.size()][];
        Map<io.lamina.engine.adapter.Adapter, List<Integer>> gatedRows = new IdentityHashMap<>();
        List<Integer> mixedRows = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            LoraBlend b = blendPerRow.get(i);
            if (!gated(b)) {
                mixedRows.add(i);
                continue;
            }
            if (b.adapters().size() != 1 || b.weight(0) != 1f) {
                Adapter odd = b.adapters().stream().filter(a -> !a.isStackableLora()).findFirst().orElseThrow();
                odd.requireStackableLora("a weighted blend or a stack of adapters");
            }
            gatedRows.computeIfAbsent(b.adapters().get(0), k -> new ArrayList<>()).add(i);
        }
        for (Map.Entry<io.lamina.engine.adapter.Adapter, List<Integer>> e : gatedRows.entrySet()) {
            List<long[]> sub = e.getValue().stream().map(ids::get).toList();
            float[][] emb = base.embedTokens(sub, e.getKey());
            for (int j = 0; j < emb.length; j++) out[e.getValue().get(j)] = emb[j];
        }
        if (!mixedRows.isEmpty()) {
            float[][] emb = embedTokens(mixedRows.stream().map(ids::get).toList(), mixedRows.stream().map(blendPerRow::get).toList());
            for (int j = 0; j < emb.length; j++) out[mixedRows.get(j)] = emb[j];
        }
        return out;
    }

    public float[][] embedTokens(List<long[]> ids, List<LoraBlend> blendPerRow) {
        int n = ids.size();
        if (blendPerRow.size() != n) throw new IllegalArgumentException(n + " sequences but " + blendPerRow.size() + " blends");
        float[][] out = new float[n][];
        if (n == 0) return out;
        if (blendPerRow.stream().anyMatch(MixedAdapterEncoder::gated)) return withGatedRows(ids, blendPerRow);

        // distinct blends become slots; base rows get slot -1 for now
        Map<LoraBlend, Integer> slotOf = new HashMap<>();
        Map<LoraBlend, Integer> seen = new IdentityHashMap<>();
        List<LoraBlend> slots = new ArrayList<>();
        int[] slot = new int[n];
        for (int i = 0; i < n; i++) {
            LoraBlend b = blendPerRow.get(i);
            if (b == null) {
                slot[i] = -1;
                continue;
            }
            Integer s = seen.get(b);
            if (s == null) {
                s = slotOf.computeIfAbsent(b, k -> {
                    slots.add(k);
                    return slots.size() - 1;
                });
                seen.put(b, s);
            }
            slot[i] = s;
        }
        validate(slots);
        int baseSlot = slots.size(); // the zero slot, present in the stacks only if some row is base
        boolean anyBase = false;
        for (int i = 0; i < n; i++) {
            if (slot[i] < 0) {
                slot[i] = baseSlot;
                anyBase = true;
            }
        }
        int stacked = slots.size() + (anyBase ? 1 : 0);

        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> {
            int c = Integer.compare(ids.get(x).length, ids.get(y).length);
            return c != 0 ? c : Integer.compare(slot[x], slot[y]);
        });

        boolean grad = Autograd.disable();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDManager mgr = base.manager();
            Stacks stacks = slots.isEmpty() ? null : stacks(mgr, slots, stacked);
            int[] sortedLengths = new int[n];
            for (int i = 0; i < n; i++) sortedLengths[i] = ids.get(order[i]).length;
            int[] bounds = chunkBounds(sortedLengths, chunk, CHUNK_OVERHEAD_TOKENS);
            for (int c = 0; c + 1 < bounds.length; c++) {
                Integer[] rows = Arrays.copyOfRange(order, bounds[c], bounds[c + 1]);
                // within a chunk only the slot order matters (padding is the chunk's longest)
                Arrays.sort(rows, (x, y) -> Integer.compare(slot[x], slot[y]));
                List<long[]> batch = new ArrayList<>(rows.length);
                int[] rowSlots = new int[rows.length];
                for (int r = 0; r < rows.length; r++) {
                    batch.add(ids.get(rows[r]));
                    rowSlots[r] = slot[rows[r]];
                }
                try (NDScope chunkScope = new NDScope()) {
                    chunkScope.suppressNotUsedWarning();
                    BaseModel.QkvHook hook = stacks == null ? null : hook(mgr, stacks, batch, rowSlots, baseSlot);
                    float[] flat = base.encode(mgr, batch, hook).toFloatArray();
                    for (int r = 0; r < rows.length; r++) out[rows[r]] = Arrays.copyOfRange(flat, r * hidden, (r + 1) * hidden);
                }
            }
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * Splits rows sorted by length into consecutive chunks of at most {@code maxRows}, minimising
     * {@code Σ (overhead + rows × longest)}: the padded tokens a chunk computes plus a fixed cost per
     * forward (its ~200 native ops and the weaker GEMMs of tiny batches), both in token units. Exact
     * dynamic programme, {@code O(n × maxRows)}. Rows of equal length stay in one chunk unless there are
     * more than {@code maxRows} of them, so a row's padding depends on the lengths in the batch, not on
     * which adapters the rows use or in what order they came.
     *
     * @return chunk boundaries {@code 0 = b_0 < b_1 < ... < b_k = n}
     */
    static int[] chunkBounds(int[] sortedLengths, int maxRows, int overheadTokens) {
        int n = sortedLengths.length;
        boolean[] cut = new boolean[n + 1]; // where a chunk may end
        for (int start = 0; start < n; ) {
            int end = start;
            while (end < n && sortedLengths[end] == sortedLengths[start]) end++;
            for (int j = start + 1; j <= end; j++) cut[j] = j == end || end - start > maxRows;
            start = end;
        }
        cut[0] = true;
        long[] cost = new long[n + 1];
        int[] from = new int[n + 1];
        for (int j = 1; j <= n; j++) {
            cost[j] = Long.MAX_VALUE;
            if (!cut[j]) continue;
            long longest = sortedLengths[j - 1];
            for (int i = j - 1; i >= Math.max(0, j - maxRows); i--) {
                if (!cut[i] || cost[i] == Long.MAX_VALUE) continue;
                long c = cost[i] + overheadTokens + (j - i) * longest;
                if (c < cost[j]) {
                    cost[j] = c;
                    from[j] = i;
                }
            }
        }
        List<Integer> cuts = new ArrayList<>();
        for (int j = n; j > 0; j = from[j]) cuts.add(j);
        cuts.add(0);
        Collections.reverse(cuts);
        return cuts.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Per layer: {@code at[l]} is {@code [S, H, W]} (A transposed, rank blocks side by side) and
     * {@code bt[l]} is {@code [S, W, 3H]} (scaled B transposed, each rank block writing to its
     * projection's columns).
     */
    private record Stacks(NDArray[] at, NDArray[] bt, int width) {
    }

    private Stacks stacks(NDManager mgr, List<LoraBlend> slots, int stacked) {
        // rank block per projection: the largest total rank any slot has on it
        int[] blockRank = new int[3];
        for (LoraBlend b : slots) {
            int[] r = new int[3];
            for (Adapter a : b.adapters()) {
                for (String t : a.spec().targetModules()) r[module(t)] += a.spec().rank();
            }
            for (int m = 0; m < 3; m++) blockRank[m] = Math.max(blockRank[m], r[m]);
        }
        int[] offset = new int[3];
        int width = 0;
        for (int m = 0; m < 3; m++) {
            offset[m] = width;
            width += blockRank[m];
        }
        int out = 3 * hidden;
        NDArray[] at = new NDArray[layers];
        NDArray[] bt = new NDArray[layers];
        for (int l = 0; l < layers; l++) {
            float[] a = new float[stacked * hidden * width];
            float[] b = new float[stacked * width * out];
            for (int s = 0; s < slots.size(); s++) {
                LoraBlend blend = slots.get(s);
                int[] used = new int[3];
                for (int t = 0; t < blend.adapters().size(); t++) {
                    Adapter adapter = blend.adapters().get(t);
                    LoraSpec spec = adapter.spec();
                    int rank = spec.rank();
                    for (String target : spec.targetModules()) {
                        int m = module(target);
                        int col = offset[m] + used[m];
                        used[m] += rank;
                        float coef = blend.weight(t) * (spec.scaling() * (m == 0 ? qScale : 1f));
                        float[] fa = adapter.weights().get(LoraSpec.peftKey(l, target, 'A')).data(); // [r, H]
                        float[] fb = adapter.weights().get(LoraSpec.peftKey(l, target, 'B')).data(); // [H, r]
                        for (int i = 0; i < hidden; i++) {
                            int rowAt = (s * hidden + i) * width + col;
                            for (int j = 0; j < rank; j++) a[rowAt + j] = fa[j * hidden + i];
                        }
                        for (int j = 0; j < rank; j++) {
                            int rowBt = (s * width + col + j) * out + m * hidden;
                            for (int o = 0; o < hidden; o++) b[rowBt + o] = coef * fb[o * rank + j];
                        }
                    }
                }
            }
            at[l] = mgr.create(a, new Shape(stacked, hidden, width));
            bt[l] = mgr.create(b, new Shape(stacked, width, out));
        }
        return new Stacks(at, bt, width);
    }

    private BaseModel.QkvHook hook(NDManager mgr, Stacks st, List<long[]> batch, int[] rowSlots, int baseSlot) {
        int rows = batch.size();
        int len = 0;
        for (long[] s : batch) len = Math.max(len, s.length);
        int tokens = rows * len;
        int out = 3 * hidden;
        int seqLen = len;
        boolean uniform = rowSlots[0] == rowSlots[rows - 1]; // rows are sorted by slot
        if (uniform) {
            int s = rowSlots[0];
            if (s == baseSlot) return null;
            return (l, x, qkv) -> qkv.addi(x.matMul(st.at()[l].get(s)).matMul(st.bt()[l].get(s)));
        }
        switch (strategy) {
            case GATHER -> {
                long[] idx = new long[rows];
                for (int r = 0; r < rows; r++) idx[r] = rowSlots[r];
                NDArray index = mgr.create(idx, new Shape(rows));
                return (l, x, qkv) -> {
                    NDArray mid = x.reshape(rows, seqLen, hidden).matMul(st.at()[l].get(index)); // [B, L, W]
                    NDArray delta = mid.matMul(st.bt()[l].get(index));                            // [B, L, 3H]
                    return qkv.addi(delta.reshape(tokens, out));
                };
            }
            case GROUPED -> {
                List<int[]> segments = new ArrayList<>(); // {from row, to row, slot}
                for (int r = 0; r < rows; ) {
                    int e = r;
                    while (e < rows && rowSlots[e] == rowSlots[r]) e++;
                    segments.add(new int[]{r, e, rowSlots[r]});
                    r = e;
                }
                return (l, x, qkv) -> {
                    NDList pieces = new NDList(segments.size());
                    for (int[] seg : segments) {
                        long from = (long) seg[0] * seqLen;
                        long to = (long) seg[1] * seqLen;
                        if (seg[2] == baseSlot) {
                            pieces.add(mgr.zeros(new Shape(to - from, out)));
                        } else {
                            NDArray xs = x.get(from + ":" + to);
                            pieces.add(xs.matMul(st.at()[l].get(seg[2])).matMul(st.bt()[l].get(seg[2])));
                        }
                    }
                    return qkv.addi(NDArrays.concat(pieces, 0));
                };
            }
            case DENSE -> {
                int stacked = (int) st.at()[0].getShape().get(0);
                int w = st.width();
                float[] mask = new float[rows * stacked * w];
                for (int r = 0; r < rows; r++) {
                    if (rowSlots[r] == baseSlot) continue;
                    Arrays.fill(mask, (r * stacked + rowSlots[r]) * w, (r * stacked + rowSlots[r] + 1) * w, 1f);
                }
                NDArray maskArray = mgr.create(mask, new Shape(rows, 1, (long) stacked * w));
                return (l, x, qkv) -> {
                    NDArray allA = st.at()[l].transpose(1, 0, 2).reshape(hidden, (long) stacked * w);
                    NDArray mid = x.matMul(allA).reshape(rows, seqLen, (long) stacked * w).mul(maskArray);
                    NDArray delta = mid.reshape(tokens, (long) stacked * w).matMul(st.bt()[l].reshape((long) stacked * w, out));
                    return qkv.addi(delta);
                };
            }
            default -> throw new IllegalStateException("unknown strategy " + strategy);
        }
    }

    private static int module(String target) {
        for (int m = 0; m < MODULES.length; m++) {
            if (MODULES[m].equals(target)) return m;
        }
        throw new IllegalArgumentException("unsupported LoRA target " + target);
    }

    private void validate(List<LoraBlend> slots) {
        Set<Adapter> checked = Collections.newSetFromMap(new IdentityHashMap<>());
        for (LoraBlend b : slots) {
            for (Adapter a : b.adapters()) {
                if (!checked.add(a)) continue;
                if (a.kind() != AdapterKind.LORA) throw new IllegalArgumentException("mixed batching supports LoRA adapters, not " + a.kind());
                a.requireStackableLora("mixed batching of stacked deltas");
                if (a.baseFingerprint() != null && !a.baseFingerprint().equals(base.fingerprint())) {
                    throw new IllegalArgumentException("adapter was made for base " + a.baseFingerprint() + ", not " + base.fingerprint());
                }
                LoraSpec spec = a.spec();
                for (int l = 0; l < layers; l++) {
                    for (String t : spec.targetModules()) {
                        check(a.weights().get(LoraSpec.peftKey(l, t, 'A')), spec.rank(), hidden, LoraSpec.peftKey(l, t, 'A'));
                        check(a.weights().get(LoraSpec.peftKey(l, t, 'B')), hidden, spec.rank(), LoraSpec.peftKey(l, t, 'B'));
                    }
                }
            }
        }
    }

    private static void check(HostTensor t, int rows, int cols, String key) {
        if (t == null) throw new IllegalArgumentException("adapter lacks LoRA factor " + key);
        if (t.shape().length != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            throw new IllegalArgumentException(key + " has shape " + Arrays.toString(t.shape()) + ", expected [" + rows + ", " + cols + "]");
        }
    }
}

package io.lamina.engine.adapter.sft;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sparse fine-tunings as data (composable-sft's {@code SFT}): the diffs of an {@link AdapterKind#SFT} adapter,
 * their composition by addition, {@code apply} and {@code revert} on dense weights, and the global top-k
 * selection LT-SFT uses to pick the entries that may change.
 *
 * <p>Diffs are keyed by {@link #key(int, String)} ({@code "layer/module"}, the keys of
 * {@code io.lamina.engine.model.ResidualWeights}); dense weights are {@code [out, in]} row-major, as PyTorch's
 * {@code nn.Linear.weight}.
 */
public final class Sft {
    /** Provenance method of an SFT made by {@link #compose}. */
    public static final String COMPOSED = "sft-composed";
    private static final Pattern KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(0|[1-9][0-9]{0,3})\\.(attention\\.self\\.(?:query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense)"
                    + "\\.(sft_shape|sft_indices|sft_values)");

    private Sft() {
    }

    /** {@code "layer/module"}, e.g. {@code 3/intermediate.dense}. */
    public static String key(int layer, String module) { return layer + "/" + module; }

    public static int layerOf(String key) { return Integer.parseInt(key.substring(0, key.indexOf('/'))); }

    public static String moduleOf(String key) { return key.substring(key.indexOf('/') + 1); }

    /** The adapter's diffs, checked ({@link #diffs(SftSpec, Map, String)}). */
    public static SortedMap<String, SparseDiff> diffs(Adapter sft) {
        if (sft.kind() != AdapterKind.SFT) throw new IllegalArgumentException("not an SFT adapter: " + sft.kind());
        return diffs(sft.sft(), sft.weights(), "SFT adapter");
    }

    /**
     * The diffs in an SFT weight map: for every layer {@code 0..L-1} (L from the keys) and every module of the spec,
     * {@code sft_shape} {@code [2]} (positive integers), {@code sft_indices} and {@code sft_values} {@code [nnz]}; no
     * other key. Indices must be integers, strictly increasing and inside the shape; values finite. {@code where}
     * starts every error message.
     */
    public static SortedMap<String, SparseDiff> diffs(SftSpec spec, Map<String, HostTensor> weights, String where) {
        int layers = 0;
        for (String k : weights.keySet()) {
            Matcher m = KEY.matcher(k);
            if (!m.matches()) throw new IllegalArgumentException(where + ": '" + k + "' is not an SFT key (base_model.model.encoder.layer.N.<linear>.sft_shape|sft_indices|sft_values)");
            String module = BertModules.moduleOfPath(m.group(2));
            if (!spec.targetModules().contains(module)) {
                throw new IllegalArgumentException(where + ": '" + k + "' diffs " + module + ", which is not among the maskable modules " + spec.targetModules());
            }
            layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
        }
        if (layers == 0) throw new IllegalArgumentException(where + ": no SFT diffs");
        SortedMap<String, SparseDiff> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String module : spec.targetModules()) {
                HostTensor shape = need(weights, SftSpec.peftKey(l, module, SftSpec.Part.SHAPE), where);
                HostTensor idx = need(weights, SftSpec.peftKey(l, module, SftSpec.Part.INDICES), where);
                HostTensor val = need(weights, SftSpec.peftKey(l, module, SftSpec.Part.VALUES), where);
                String what = where + ": layer " + l + " " + module;
                if (!Arrays.equals(shape.shape(), new long[]{2})) throw new IllegalArgumentException(what + ": sft_shape has shape " + Arrays.toString(shape.shape()) + ", expected [2]");
                float r = shape.data()[0], c = shape.data()[1];
                if (!(r >= 1 && c >= 1 && r == Math.rint(r) && c == Math.rint(c) && (double) r * c <= SparseDiff.MAX_ENTRIES)) {
                    throw new IllegalArgumentException(what + ": sft_shape [" + r + ", " + c + "] is not a positive shape of at most " + SparseDiff.MAX_ENTRIES + " entries");
                }
                if (idx.shape().length != 1 || val.shape().length != 1) {
                    throw new IllegalArgumentException(what + ": sft_indices " + Arrays.toString(idx.shape()) + " and sft_values " + Arrays.toString(val.shape()) + " must be 1-d");
                }
                float[] fi = idx.data();
                int[] ii = new int[fi.length];
                for (int i = 0; i < fi.length; i++) {
                    if (fi[i] != Math.rint(fi[i]) || Math.abs(fi[i]) > SparseDiff.MAX_ENTRIES) throw new IllegalArgumentException(what + ": index " + fi[i] + " at element " + i + " is not an integer position");
                    ii[i] = (int) fi[i];
                }
                out.put(key(l, module), new SparseDiff((int) r, (int) c, ii, val.data(), what));
            }
        }
        return out;
    }

    private static HostTensor need(Map<String, HostTensor> w, String key, String where) {
        HostTensor t = w.get(key);
        if (t == null) throw new IllegalArgumentException(where + ": missing '" + key + "'");
        return t;
    }

    /** The weight map of diffs keyed by {@link #key}: three tensors per linear under {@link SftSpec#peftKey}. */
    public static SortedMap<String, HostTensor> weights(Map<String, SparseDiff> diffs) {
        SortedMap<String, HostTensor> out = new TreeMap<>();
        for (Map.Entry<String, SparseDiff> e : diffs.entrySet()) {
            int l = layerOf(e.getKey());
            String module = moduleOf(e.getKey());
            SparseDiff d = e.getValue();
            int[] idx = d.indices();
            float[] fi = new float[idx.length];
            for (int i = 0; i < idx.length; i++) fi[i] = idx[i];
            out.put(SftSpec.peftKey(l, module, SftSpec.Part.SHAPE), new HostTensor(new long[]{2}, new float[]{d.rows(), d.cols()}));
            out.put(SftSpec.peftKey(l, module, SftSpec.Part.INDICES), new HostTensor(new long[]{idx.length}, fi));
            out.put(SftSpec.peftKey(l, module, SftSpec.Part.VALUES), new HostTensor(new long[]{idx.length}, d.values()));
        }
        return out;
    }

    /** Non-zero entries stored: the adapter's trainable diff parameters. */
    public static long nnz(Map<String, SparseDiff> diffs) {
        long n = 0;
        for (SparseDiff d : diffs.values()) n += d.nnz();
        return n;
    }

    /**
     * The composition {@code φ₁ + φ₂ + …} of SFT adapters of one base, as one SFT adapter: the union of the supports,
     * values added ({@link SparseDiff#sum}, independent of the order of {@code sfts}); its maskable modules are the
     * union of theirs, its budget the count it stores. {@code head}: the head to serve with (a composition of a
     * language SFT and a task SFT uses the task's).
     */
    public static Adapter compose(List<Adapter> sfts, PrototypeHead head) {
        if (sfts == null || sfts.isEmpty()) throw new IllegalArgumentException("a composition needs at least one SFT");
        Adapter first = sfts.get(0);
        Set<String> modules = new LinkedHashSet<>();
        Map<String, List<SparseDiff>> parts = new TreeMap<>();
        int layers = -1;
        for (int i = 0; i < sfts.size(); i++) {
            Adapter a = sfts.get(i);
            if (a == null || a.kind() != AdapterKind.SFT) {
                throw new IllegalArgumentException("adapter " + i + " is " + (a == null ? "null" : a.kind()) + ": only SFT adapters compose by addition");
            }
            if (!java.util.Objects.equals(a.baseFingerprint(), first.baseFingerprint())) {
                throw new IllegalArgumentException("adapter " + i + " belongs to base " + a.baseFingerprint() + ", adapter 0 to " + first.baseFingerprint());
            }
            SortedMap<String, SparseDiff> d = diffs(a.sft(), a.weights(), "SFT " + i);
            int l = 1 + d.keySet().stream().mapToInt(Sft::layerOf).max().orElse(-1);
            if (layers >= 0 && l != layers) throw new IllegalArgumentException("SFT " + i + " diffs " + l + " layers, SFT 0 " + layers);
            layers = l;
            modules.addAll(a.sft().targetModules());
            for (Map.Entry<String, SparseDiff> e : d.entrySet()) parts.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue());
        }
        SortedMap<String, SparseDiff> sum = new TreeMap<>();
        for (Map.Entry<String, List<SparseDiff>> e : parts.entrySet()) {
            try {
                sum.put(e.getKey(), SparseDiff.sum(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("layer " + layerOf(e.getKey()) + " " + moduleOf(e.getKey()) + ": " + ex.getMessage(), ex);
            }
        }
        long nnz = nnz(sum);
        SftSpec spec = new SftSpec(new ArrayList<>(modules), Math.max(1, nnz), 0, 0, 0, 0f, SftSpec.DEFAULT_DIFF_LR_FACTOR);
        AdapterProvenance p = new AdapterProvenance(COMPOSED, Map.of("parts", Integer.toString(sfts.size()), "nnz", Long.toString(nnz)));
        return Adapter.of(spec, weights(sum), head, first.baseModelId(), first.baseFingerprint(), p);
    }

    /**
     * composable-sft's {@code apply}: dense weights {@code W} (keyed by {@link #key}, {@code [out, in]} row-major) plus
     * the composition of {@code sfts}; a new map (the input is not changed), entries off the supports copied bit for bit.
     * {@code weights} needs every linear the SFTs change (not those whose diff is empty).
     */
    public static Map<String, float[]> apply(Map<String, float[]> weights, List<Adapter> sfts) {
        return add(weights, sfts, 1);
    }

    /** composable-sft's {@code revert}: {@code W − Σ φ}, the inverse of {@link #apply} up to float rounding. */
    public static Map<String, float[]> revert(Map<String, float[]> weights, List<Adapter> sfts) {
        return add(weights, sfts, -1);
    }

    private static Map<String, float[]> add(Map<String, float[]> weights, List<Adapter> sfts, int sign) {
        SortedMap<String, SparseDiff> sum = diffs(compose(sfts, sfts.get(0).head()));
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, float[]> e : weights.entrySet()) out.put(e.getKey(), e.getValue().clone());
        for (Map.Entry<String, SparseDiff> e : sum.entrySet()) {
            if (e.getValue().nnz() == 0) continue;
            float[] w = out.get(e.getKey());
            if (w == null) throw new IllegalArgumentException("no weight '" + e.getKey() + "' to apply the SFT to");
            e.getValue().addInto(w, sign);
        }
        return out;
    }

    /**
     * LT-SFT's selection ({@code unfreeze_k_most_changed_params}): the {@code k} entries with the largest {@code |Δ|}
     * over all tensors, with one global threshold. Ties at the threshold go to the earlier tensor (key order), then
     * the lower position, so the selection is deterministic. Returns the selected positions per tensor, ascending
     * (every key of {@code deltas}, possibly empty).
     */
    public static SortedMap<String, int[]> topK(SortedMap<String, float[]> deltas, long k) {
        long total = 0;
        for (float[] d : deltas.values()) total += d.length;
        if (k < 0) throw new IllegalArgumentException("k must be >= 0, got " + k);
        if (total > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("too many maskable entries: " + total);
        SortedMap<String, int[]> out = new TreeMap<>();
        if (k >= total) {
            for (Map.Entry<String, float[]> e : deltas.entrySet()) {
                int[] all = new int[e.getValue().length];
                for (int i = 0; i < all.length; i++) all[i] = i;
                out.put(e.getKey(), all);
            }
            return out;
        }
        float threshold = Float.POSITIVE_INFINITY;
        if (k > 0) {
            float[] abs = new float[(int) total];
            int at = 0;
            for (float[] d : deltas.values()) for (float v : d) abs[at++] = Math.abs(v);
            Arrays.sort(abs);
            threshold = abs[(int) (total - k)];
        }
        long above = 0;
        for (float[] d : deltas.values()) for (float v : d) if (Math.abs(v) > threshold) above++;
        long ties = k - above;
        for (Map.Entry<String, float[]> e : deltas.entrySet()) {
            float[] d = e.getValue();
            int n = 0;
            int[] picked = new int[d.length];
            for (int i = 0; i < d.length; i++) {
                float a = Math.abs(d[i]);
                if (a > threshold || (a == threshold && ties > 0)) {
                    if (a == threshold) ties--;
                    picked[n++] = i;
                }
            }
            out.put(e.getKey(), Arrays.copyOf(picked, n));
        }
        return out;
    }
}

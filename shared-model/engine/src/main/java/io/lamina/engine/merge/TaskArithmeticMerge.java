package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Task arithmetic (Ilharco et al. 2023) over LoRA adapters, exactly: adapter {@code i} changes a wrapped
 * weight by {@code ΔW_i = s_i · B_i · A_i} with {@code s_i = alpha_i / r_i}. The weighted sum
 * {@code Σ w_i ΔW_i} is itself a LoRA update of rank {@code Σ r_i}:
 * <pre>
 *   A = [A_1; A_2; ...]                      (rows stacked,   [Σ r_i, in])
 *   B = [c_1 B_1, c_2 B_2, ...],  c_i = w_i s_i / s   (columns joined, [out, Σ r_i])
 * </pre>
 * since {@code B A = Σ c_i B_i A_i}. The merged spec uses {@code alpha = Σ r_i}, so {@code s = 1}; no SVD
 * truncation, so nothing is lost. The merged head is the union of the inputs' classes.
 */
public final class TaskArithmeticMerge {

    public static final String METHOD = "task_arithmetic";

    private static final Pattern A_KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(\\d+)\\.attention\\.self\\.([a-z]+)\\.lora_A\\.weight");

    private TaskArithmeticMerge() {
    }

    /**
     * Merges adapters into one that applies {@code Σ w_i ΔW_i}.
     *
     * @param provenanceDetails extra provenance (e.g. {@code merged-from} with the inputs' fingerprints); kept as given,
     *                          except that the keys this method sets ({@code merge-method}, {@code merge-weights},
     *                          {@code merge-input-ranks}, {@code merged-rank}, {@code duplicate-labels}) take its values
     */
    public static Adapter merge(List<Adapter> adapters, List<Double> weights, Map<String, String> provenanceDetails) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("merge needs at least one adapter");
        if (weights == null || weights.size() != adapters.size()) {
            throw new IllegalArgumentException("merge needs one weight per adapter: " + adapters.size() + " adapters, "
                    + (weights == null ? "no" : String.valueOf(weights.size())) + " weights");
        }
        for (int i = 0; i < weights.size(); i++) {
            Double w = weights.get(i);
            if (w == null || !Double.isFinite(w)) throw new IllegalArgumentException("merge weight " + i + " must be finite, got " + w);
        }
        Adapter first = adapters.get(0);
        for (int i = 0; i < adapters.size(); i++) {
            Adapter a = adapters.get(i);
            if (a == null) throw new IllegalArgumentException("adapter " + i + " is null");
            if (a.kind() != AdapterKind.LORA) throw new IllegalArgumentException("adapter " + i + " is " + a.kind() + ", task arithmetic merges LORA adapters");
            if (a.head() == null) throw new IllegalArgumentException("adapter " + i + " has no head");
            if (a.baseFingerprint() == null || !a.baseFingerprint().equals(first.baseFingerprint())) {
                throw new IllegalArgumentException("adapter " + i + " has base fingerprint " + a.baseFingerprint()
                        + " but adapter 0 has " + first.baseFingerprint() + ": adapters of different base models cannot be merged");
            }
            if (!new HashSet<>(a.spec().targetModules()).equals(new HashSet<>(first.spec().targetModules()))) {
                throw new IllegalArgumentException("adapter " + i + " targets " + a.spec().targetModules()
                        + " but adapter 0 targets " + first.spec().targetModules() + ": target modules must match");
            }
        }

        // The wrapped (layer, module) sites, and per site the [in] and [out] sizes, must agree.
        Set<Site> sites = sitesOf(first, 0);
        for (int i = 1; i < adapters.size(); i++) {
            Set<Site> other = sitesOf(adapters.get(i), i);
            if (!other.equals(sites)) {
                throw new IllegalArgumentException("adapter " + i + " wraps " + describe(other) + " but adapter 0 wraps " + describe(sites));
            }
        }

        int mergedRank = 0;
        for (Adapter a : adapters) mergedRank += a.spec().rank();
        if (mergedRank > 256) {
            throw new IllegalArgumentException("merged rank " + mergedRank + " (sum of input ranks) exceeds the LoRA maximum of 256");
        }
        float maxDropout = 0f;
        for (Adapter a : adapters) maxDropout = Math.max(maxDropout, a.spec().dropout());
        LoraSpec spec = new LoraSpec(mergedRank, mergedRank, maxDropout, first.spec().targetModules());
        double s = spec.scaling(); // == 1

        Map<String, HostTensor> merged = new TreeMap<>();
        for (Site site : sites) {
            int in = -1, out = -1;
            for (int i = 0; i < adapters.size(); i++) {
                HostTensor a = factor(adapters.get(i), i, site, 'A');
                HostTensor b = factor(adapters.get(i), i, site, 'B');
                if (i == 0) {
                    in = a.cols();
                    out = b.rows();
                } else if (a.cols() != in || b.rows() != out) {
                    throw new IllegalArgumentException("adapter " + i + " at layer " + site.layer + " " + site.module + " maps "
                            + a.cols() + " -> " + b.rows() + " but adapter 0 maps " + in + " -> " + out);
                }
            }
            float[] aData = new float[mergedRank * in];
            float[] bData = new float[out * mergedRank];
            int offset = 0;
            for (int i = 0; i < adapters.size(); i++) {
                Adapter ad = adapters.get(i);
                int r = ad.spec().rank();
                HostTensor a = factor(ad, i, site, 'A');
                HostTensor b = factor(ad, i, site, 'B');
                System.arraycopy(a.data(), 0, aData, offset * in, r * in);
                double c = weights.get(i) * ad.spec().scaling() / s;
                for (int o = 0; o < out; o++) {
                    for (int k = 0; k < r; k++) {
                        bData[o * mergedRank + offset + k] = (float) (c * b.data()[o * r + k]);
                    }
                }
                offset += r;
            }
            merged.put(LoraSpec.peftKey(site.layer, site.module, 'A'), new HostTensor(new long[]{mergedRank, in}, aData));
            merged.put(LoraSpec.peftKey(site.layer, site.module, 'B'), new HostTensor(new long[]{out, mergedRank}, bData));
        }

        // Head: union of classes in input order; the first prototype of a duplicated label wins.
        List<String> labels = new ArrayList<>();
        List<float[]> protos = new ArrayList<>();
        Set<String> duplicates = new TreeSet<>();
        int dim = first.head().hidden();
        for (int i = 0; i < adapters.size(); i++) {
            PrototypeHead h = adapters.get(i).head();
            if (h.hidden() != dim) throw new IllegalArgumentException("adapter " + i + " head has dimension " + h.hidden() + " but adapter 0 head has " + dim);
            for (int c = 0; c < h.labels().size(); c++) {
                String label = h.labels().get(c);
                if (labels.contains(label)) {
                    duplicates.add(label);
                } else {
                    labels.add(label);
                    protos.add(h.prototypes()[c].clone());
                }
            }
        }
        PrototypeHead head = new PrototypeHead(labels, protos.toArray(new float[0][]), first.head().scale());

        Map<String, String> details = new TreeMap<>();
        if (provenanceDetails != null) details.putAll(provenanceDetails);
        details.put("merge-method", METHOD);
        details.put("merge-weights", weights.stream().map(String::valueOf).collect(Collectors.joining(",")));
        details.put("merge-input-ranks", adapters.stream().map(a -> String.valueOf(a.spec().rank())).collect(Collectors.joining(",")));
        details.put("merged-rank", String.valueOf(mergedRank));
        if (duplicates.isEmpty()) {
            details.remove("duplicate-labels");
        } else {
            details.put("duplicate-labels", String.join(",", duplicates) + " (kept the first adapter's prototype)");
        }
        return Adapter.lora(spec, merged, head, first.baseModelId(), first.baseFingerprint(),
                new AdapterProvenance(AdapterProvenance.MERGED, details));
    }

    /** The weight update {@code s · B · A} an adapter applies at one site, as [out, in]. */
    public static HostTensor deltaWeight(Adapter adapter, int layer, String module) {
        if (adapter == null) throw new IllegalArgumentException("adapter must not be null");
        HostTensor a = adapter.weights().get(LoraSpec.peftKey(layer, module, 'A'));
        HostTensor b = adapter.weights().get(LoraSpec.peftKey(layer, module, 'B'));
        if (a == null || b == null) throw new IllegalArgumentException("adapter has no LoRA weights at layer " + layer + " " + module);
        if (a.shape().length != 2 || b.shape().length != 2 || b.cols() != a.rows()) {
            throw new IllegalArgumentException("LoRA factors at layer " + layer + " " + module + " do not chain: B " + Arrays.toString(b.shape()) + ", A " + Arrays.toString(a.shape()));
        }
        int r = a.rows(), in = a.cols(), out = b.rows();
        double s = adapter.spec().scaling();
        float[] d = new float[out * in];
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            Arrays.fill(row, 0.0);
            for (int k = 0; k < r; k++) {
                double bv = b.data()[o * r + k];
                if (bv == 0.0) continue;
                int aOff = k * in;
                for (int j = 0; j < in; j++) row[j] += bv * a.data()[aOff + j];
            }
            for (int j = 0; j < in; j++) d[o * in + j] = (float) (s * row[j]);
        }
        return new HostTensor(new long[]{out, in}, d);
    }

    private record Site(int layer, String module) implements Comparable<Site> {
        @Override
        public int compareTo(Site o) {
            int c = Integer.compare(layer, o.layer);
            return c != 0 ? c : module.compareTo(o.module);
        }
    }

    private static Set<Site> sitesOf(Adapter a, int index) {
        Set<Site> sites = new TreeSet<>();
        for (String k : a.weights().keySet()) {
            Matcher m = A_KEY.matcher(k);
            if (m.matches()) sites.add(new Site(Integer.parseInt(m.group(1)), m.group(2)));
        }
        if (sites.isEmpty()) throw new IllegalArgumentException("adapter " + index + " has no LoRA weights");
        for (Site s : sites) {
            if (!a.spec().targetModules().contains(s.module)) {
                throw new IllegalArgumentException("adapter " + index + " has weights for module '" + s.module + "' not in its targets " + a.spec().targetModules());
            }
        }
        return sites;
    }

    private static HostTensor factor(Adapter a, int index, Site site, char f) {
        HostTensor t = a.weights().get(LoraSpec.peftKey(site.layer, site.module, f));
        if (t == null) throw new IllegalArgumentException("adapter " + index + " is missing lora_" + f + " at layer " + site.layer + " " + site.module);
        int r = a.spec().rank();
        boolean ok = t.shape().length == 2 && (f == 'A' ? t.shape()[0] == r : t.shape()[1] == r);
        if (!ok) {
            throw new IllegalArgumentException("adapter " + index + " lora_" + f + " at layer " + site.layer + " " + site.module
                    + " has shape " + Arrays.toString(t.shape()) + ", inconsistent with rank " + r);
        }
        return t;
    }

    private static String describe(Set<Site> sites) {
        Set<Integer> layers = new LinkedHashSet<>();
        Set<String> modules = new TreeSet<>();
        for (Site s : sites) {
            layers.add(s.layer);
            modules.add(s.module);
        }
        return sites.size() + " sites (layers " + layers + ", modules " + modules + ")";
    }
}

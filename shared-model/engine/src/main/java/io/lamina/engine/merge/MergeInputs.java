package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checked merge inputs: LoRA adapters of one base model that wrap the same (layer, module) sites with the
 * same shapes, one finite weight each. Every rejection names the adapter (by 0-based position) and the mismatch.
 */
final class MergeInputs {

    private static final Pattern A_KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(\\d+)\\.attention\\.self\\.([a-z]+)\\.lora_A\\.weight");

    /** One wrapped projection: {@code ΔW} is {@code [out, in]}. */
    record Site(int layer, String module, int in, int out) implements Comparable<Site> {
        @Override
        public int compareTo(Site o) {
            int c = Integer.compare(layer, o.layer);
            return c != 0 ? c : module.compareTo(o.module);
        }

        String label() { return "layer " + layer + " " + module; }
    }

    final List<Adapter> adapters;
    final List<Site> sites;

    private MergeInputs(List<Adapter> adapters, List<Site> sites) {
        this.adapters = adapters;
        this.sites = sites;
    }

    int size() { return adapters.size(); }

    int rank(int i) { return adapters.get(i).spec().rank(); }

    /** The adapter's own scaling {@code alpha / r}, in double precision. */
    double scaling(int i) {
        return adapters.get(i).spec().exactScaling();
    }

    static MergeInputs check(List<Adapter> adapters, List<Double> weights) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("merge needs at least one adapter");
        if (weights.size() != adapters.size()) {
            throw new IllegalArgumentException("merge needs one weight per adapter: " + adapters.size() + " adapters, " + weights.size() + " weights");
        }
        Adapter first = adapters.get(0);
        for (int i = 0; i < adapters.size(); i++) {
            Adapter a = adapters.get(i);
            if (a == null) throw new IllegalArgumentException("adapter " + i + " is null");
            if (a.kind() != AdapterKind.LORA) {
                try {
                    a.requireLinearLora("merging");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("adapter " + i + " is " + a.kind() + ": " + e.getMessage(), e);
                }
            }
            // DoRA is refused, not approximated: its magnitudes rescale W + ΔW per row, so summing or trimming
            // its ΔW (TIES, DARE, task arithmetic) would silently drop the magnitudes (docs/decisions.md).
            if (!a.isStackableLora()) {
                try {
                    a.requireStackableLora("merging");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("adapter " + i + ": " + e.getMessage(), e);
                }
            }
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

        Set<String> firstSites = siteKeys(first, 0);
        for (int i = 1; i < adapters.size(); i++) {
            Set<String> other = siteKeys(adapters.get(i), i);
            if (!other.equals(firstSites)) {
                throw new IllegalArgumentException("adapter " + i + " wraps " + describe(other) + " but adapter 0 wraps " + describe(firstSites));
            }
        }

        List<Site> sites = new ArrayList<>();
        for (String key : firstSites) {
            int dot = key.indexOf('.');
            int layer = Integer.parseInt(key.substring(0, dot));
            String module = key.substring(dot + 1);
            int in = -1, out = -1;
            for (int i = 0; i < adapters.size(); i++) {
                HostTensor a = factor(adapters.get(i), i, layer, module, 'A');
                HostTensor b = factor(adapters.get(i), i, layer, module, 'B');
                if (i == 0) {
                    in = a.cols();
                    out = b.rows();
                } else if (a.cols() != in || b.rows() != out) {
                    throw new IllegalArgumentException("adapter " + i + " at layer " + layer + " " + module + " maps "
                            + a.cols() + " -> " + b.rows() + " but adapter 0 maps " + in + " -> " + out);
                }
                finite(a, i, layer, module, 'A');
                finite(b, i, layer, module, 'B');
            }
            sites.add(new Site(layer, module, in, out));
        }
        sites.sort(null);
        return new MergeInputs(List.copyOf(adapters), List.copyOf(sites));
    }

    /** Factor {@code f} ('A' [r, in] or 'B' [out, r]) of input {@code i} at a site, as doubles. */
    double[] factor(int i, Site site, char f) {
        float[] data = adapters.get(i).weights().get(LoraSpec.peftKey(site.layer(), site.module(), f)).data();
        double[] out = new double[data.length];
        for (int j = 0; j < data.length; j++) out[j] = data[j];
        return out;
    }

    /** {@code ΔW_i = s_i · B_i · A_i} at a site, {@code [out, in]}, in double precision. */
    double[] delta(int i, Site site) {
        int r = rank(i), in = site.in(), out = site.out();
        double[] a = factor(i, site, 'A');
        double[] b = factor(i, site, 'B');
        double s = scaling(i);
        double[] d = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                double bv = b[o * r + k];
                if (bv == 0.0) continue;
                int aOff = k * in, dOff = o * in;
                for (int j = 0; j < in; j++) d[dOff + j] += bv * a[aOff + j];
            }
        }
        for (int j = 0; j < d.length; j++) d[j] *= s;
        return d;
    }

    /**
     * Union of the inputs' classes in input order. A label several inputs have (a domain-incremental
     * stream: the same classes in every task) gets the normalised mean of their prototypes, so every
     * domain the merge covers is represented, not only the first.
     */
    PrototypeHead unionHead(Set<String> duplicates) {
        Adapter first = adapters.get(0);
        List<String> labels = new ArrayList<>();
        List<float[]> protos = new ArrayList<>();
        List<float[]> baseProtos = new ArrayList<>();
        boolean base = adapters.stream().allMatch(a -> a.head().basePrototypes() != null);
        int dim = first.head().hidden();
        for (int i = 0; i < adapters.size(); i++) {
            PrototypeHead h = adapters.get(i).head();
            if (h.hidden() != dim) throw new IllegalArgumentException("adapter " + i + " head has dimension " + h.hidden() + " but adapter 0 head has " + dim);
            float[][] rows = io.lamina.engine.routing.AdapterRouter.normalised(h.prototypes());
            float[][] baseRows = base ? io.lamina.engine.routing.AdapterRouter.normalised(h.basePrototypes()) : null;
            for (int c = 0; c < h.labels().size(); c++) {
                String label = h.labels().get(c);
                int at = labels.indexOf(label);
                if (at >= 0) {
                    duplicates.add(label);
                    for (int j = 0; j < dim; j++) protos.get(at)[j] += rows[c][j];
                    if (base) for (int j = 0; j < dim; j++) baseProtos.get(at)[j] += baseRows[c][j];
                } else {
                    labels.add(label);
                    protos.add(rows[c].clone());
                    if (base) baseProtos.add(baseRows[c].clone());
                }
            }
        }
        float[][] p = io.lamina.engine.routing.AdapterRouter.normalised(protos.toArray(new float[0][]));
        float[][] b = base ? io.lamina.engine.routing.AdapterRouter.normalised(baseProtos.toArray(new float[0][])) : null;
        return new PrototypeHead(labels, p, first.head().scale(), b);
    }

    private static Set<String> siteKeys(Adapter a, int index) {
        Set<String> keys = new TreeSet<>();
        for (String k : a.weights().keySet()) {
            Matcher m = A_KEY.matcher(k);
            if (m.matches()) {
                if (!a.spec().targetModules().contains(m.group(2))) {
                    throw new IllegalArgumentException("adapter " + index + " has weights for module '" + m.group(2) + "' not in its targets " + a.spec().targetModules());
                }
                keys.add(Integer.parseInt(m.group(1)) + "." + m.group(2));
            }
        }
        if (keys.isEmpty()) throw new IllegalArgumentException("adapter " + index + " has no LoRA weights");
        return keys;
    }

    private static HostTensor factor(Adapter a, int index, int layer, String module, char f) {
        HostTensor t = a.weights().get(LoraSpec.peftKey(layer, module, f));
        if (t == null) throw new IllegalArgumentException("adapter " + index + " is missing lora_" + f + " at layer " + layer + " " + module);
        int r = a.spec().rank();
        boolean ok = t.shape().length == 2 && (f == 'A' ? t.shape()[0] == r : t.shape()[1] == r);
        if (!ok) {
            throw new IllegalArgumentException("adapter " + index + " lora_" + f + " at layer " + layer + " " + module
                    + " has shape " + Arrays.toString(t.shape()) + ", inconsistent with rank " + r);
        }
        return t;
    }

    private static void finite(HostTensor t, int index, int layer, String module, char f) {
        for (float v : t.data()) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("adapter " + index + " lora_" + f + " at layer " + layer + " " + module + " contains " + v);
            }
        }
    }

    private static String describe(Set<String> keys) {
        Set<Integer> layers = new TreeSet<>();
        Set<String> modules = new TreeSet<>();
        for (String k : keys) {
            int dot = k.indexOf('.');
            layers.add(Integer.parseInt(k.substring(0, dot)));
            modules.add(k.substring(dot + 1));
        }
        return keys.size() + " sites (layers " + new LinkedHashSet<>(layers) + ", modules " + modules + ")";
    }
}

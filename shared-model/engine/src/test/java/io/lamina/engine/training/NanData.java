package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.model.BaseModel;
import java.util.*;

public class NanData {
    public static void main(String[] a) {
        BaseModel base = BaseModel.miniLm();
        var t = SupersenseStream.build(5, 5, 120, 30, 7).get(2);
        List<String> texts = t.train().stream().map(LabeledText::text).toList();
        List<long[]> ids = base.tokenize(texts, 64);
        Map<String,Integer> counts = new TreeMap<>();
        for (LabeledText x : t.train()) counts.merge(x.label(), 1, Integer::sum);
        System.out.println(counts);
        int[] hist = new int[65];
        for (long[] s : ids) hist[s.length]++;
        System.out.println(Arrays.toString(hist));
        for (int e = 0; e < 3; e++) {
            int[][] b = LoraTrainer.epochBatches(ids, 42, e, 32);
            for (int i = 0; i < b.length; i++) {
                int min = 99, max = 0;
                for (int j : b[i]) { min = Math.min(min, ids.get(j).length); max = Math.max(max, ids.get(j).length); }
                System.out.printf("step %d size %d len %d..%d%n", e * b.length + i, b[i].length, min, max);
                if (b[i].length < 8) for (int j : b[i]) System.out.println("   " + t.train().get(j));
            }
        }
        for (int i = 0; i < ids.size(); i++) if (ids.get(i).length <= 4) System.out.println("short: " + t.train().get(i));
    }
}

package io.lamina.engine.bench;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.data.WordNetSupersenses.PartOfSpeech;
import io.lamina.engine.model.BaseModel;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Where SEMA's expansion threshold sits on real text: the z-scores ({@link TaskDescriptor#zScore})
 * of held-out texts against a task's descriptor, for the same task, other WordNet noun tasks, and
 * verb tasks. Not a test:
 * <pre>
 * ./mvnw -q -o -pl shared-model/engine exec:java -Dexec.mainClass=io.lamina.engine.bench.TaskDescriptorCalibration -Dexec.classpathScope=test
 * </pre>
 */
public final class TaskDescriptorCalibration {
    private TaskDescriptorCalibration() {
    }

    public static void main(String[] args) {
        BaseModel base = BaseModel.miniLm();
        for (long seed = 1; seed <= 3; seed++) {
            List<SupersenseStream.TaskData> nouns = SupersenseStream.build(4, 4, 60, 20, seed);
            List<SupersenseStream.TaskData> verbs = SupersenseStream.build(PartOfSpeech.VERB, 2, 3, 60, 20, seed);
            TaskDescriptor d = TaskDescriptor.fit(embed(base, nouns.get(0).train()), TaskDescriptor.DEFAULT_COMPONENTS);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "seed %d: same task %.2f; other noun tasks", seed,
                    d.zScore(Arrays.asList(embed(base, nouns.get(0).test())))));
            for (int t = 1; t < nouns.size(); t++) line.append(String.format(Locale.ROOT, " %.2f", d.zScore(Arrays.asList(embed(base, nouns.get(t).test())))));
            line.append("; verb tasks");
            for (SupersenseStream.TaskData v : verbs) line.append(String.format(Locale.ROOT, " %.2f", d.zScore(Arrays.asList(embed(base, v.test())))));
            System.out.println(line);
        }
    }

    private static float[][] embed(BaseModel base, List<LabeledText> examples) {
        return base.embed(examples.stream().map(LabeledText::text).toList(), null, 64);
    }
}

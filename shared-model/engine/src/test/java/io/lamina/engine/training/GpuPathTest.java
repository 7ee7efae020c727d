package io.lamina.engine.training;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU path: where DJL sees a CUDA device, the same job on the GPU and on a CPU copy of the model gives the same
 * embeddings, losses and factors within float tolerance (same seeds; no dropout, whose masks come from each device's
 * own generator), and the adapter's provenance names the GPU. Skipped, with the reason, where there is no GPU.
 */
class GpuPathTest {
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net", "Rain");

    @Test
    void onAGpuTheTrainerGivesTheCpuNumbers() {
        assumeTrue(Engine.getInstance().getGpuCount() > 0, "no CUDA device visible to DJL here (libtorch "
                + Engine.getInstance().getVersion() + " from the CPU native jar): the GPU path runs only where one is (README, GPU)");
        BaseModel gpu = BaseModel.miniLmOn(Device.gpu());
        BaseModel cpu = BaseModel.miniLmOn(Device.cpu());
        assertThat(gpu.device()).startsWith("gpu");
        assertThat(maxAbsDiff(gpu.embed(TEXTS, null), cpu.embed(TEXTS, null))).isLessThan(1e-4f);

        LoraSpec spec = new LoraSpec(8, 16f, 0f, List.of("query", "value"));
        TrainingSpec training = new TrainingSpec(1, 5, 1e-3f, 0.01f, 0.1f, 1.0f, 11L, 32, 0);
        List<Float> gpuLosses = new ArrayList<>(), cpuLosses = new ArrayList<>();
        Adapter onGpu = new LoraTrainer(gpu).train(new TrainingRequest(TinyTasks.things(), List.of("animal", "vehicle", "food"), spec, training,
                null, p -> gpuLosses.add(p.loss()), null, Map.of()));
        Adapter onCpu = new LoraTrainer(cpu).train(new TrainingRequest(TinyTasks.things(), List.of("animal", "vehicle", "food"), spec, training,
                null, p -> cpuLosses.add(p.loss()), null, Map.of()));
        assertThat(onGpu.provenance().details()).containsEntry("device", gpu.device());
        assertThat(gpuLosses).hasSameSizeAs(cpuLosses);
        for (int i = 0; i < gpuLosses.size(); i++) assertThat(Math.abs(gpuLosses.get(i) - cpuLosses.get(i))).isLessThan(1e-3f);
        for (Map.Entry<String, HostTensor> e : onCpu.weights().entrySet()) {
            assertThat(maxAbsDiff(new float[][]{onGpu.weights().get(e.getKey()).data()}, new float[][]{e.getValue().data()}))
                    .as(e.getKey()).isLessThan(1e-3f);
        }
        assertThat(maxAbsDiff(gpu.embed(TEXTS, onGpu), cpu.embed(TEXTS, onCpu))).isLessThan(1e-3f);
    }
}

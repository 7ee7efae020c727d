package io.lamina.hypernetwork.api;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.hypernetwork.AdapterGeneration;
import io.lamina.hypernetwork.domain.AdapterIndex;
import io.lamina.hypernetwork.domain.GeneratorStore;
import io.lamina.hypernetwork.domain.Generators;
import io.lamina.support.ServiceClients;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/hypernetwork")
class HypernetworkController {
    private static final int MAX_EXAMPLES = 2_000;
    private static final int MAX_TEXT = 2_000;

    private final AdapterIndex index;
    private final Generators generators;
    private final GeneratorStore store;
    private final ServiceClients clients;

    HypernetworkController(AdapterIndex index, Generators generators, GeneratorStore store, ServiceClients clients) {
        this.index = index;
        this.generators = generators;
        this.store = store;
        this.clients = clients;
    }

    /**
     * @param streamId    the stream to register the adapter in (default {@code playground})
     * @param taskKey     with {@code streamId}, a task whose stored dataset gives the examples when none are
     *                    given and its test split to evaluate the adapter on
     * @param description what the task is about (ICM-LoRA's condition)
     * @param examples    labelled examples: GenerativeAdapter's context and the head's class means
     * @param method      {@code generative-adapter} or {@code icm-lora}; default: the first that is trained
     */
    record GenerateBody(String streamId, String taskKey, String description, List<LabeledText> examples, String method) {
    }

    @Operation(summary = "Generate an adapter from a description (ICM-LoRA) or a few examples (GenerativeAdapter), register it and return it",
            description = "201 with the registered adapter's id, the generator used and the time it took; 409 when no generator of "
                    + "that method is trained yet. With streamId and taskKey of a stored task, the examples default to its training "
                    + "split and the answer includes the adapter's accuracy on its test split.")
    @PostMapping("/generate")
    ResponseEntity<Generators.Result> generate(@RequestBody GenerateBody body) {
        if (body == null) throw new IllegalArgumentException("a JSON body is required: {description, examples:[{text,label}], method?, streamId?, taskKey?}");
        String method = body.method();
        if (method != null && !method.isBlank()) AdapterGeneration.Method.fromWire(method); // 400 naming the known methods
        String streamId = body.streamId() == null || body.streamId().isBlank() ? "playground" : body.streamId();
        List<LabeledText> examples = body.examples();
        List<LabeledText> test = null;
        String datasetId = null;
        String description = body.description();
        if (body.taskKey() != null && !body.taskKey().isBlank() && body.streamId() != null) {
            try {
                ServiceClients.Dataset d = clients.dataset(streamId, body.taskKey());
                datasetId = d.datasetId();
                test = d.test();
                if (examples == null || examples.isEmpty()) examples = d.train();
                if (description == null || description.isBlank()) description = d.description();
            } catch (NoSuchElementException e) {
                if (examples == null || examples.isEmpty()) throw new IllegalArgumentException(e.getMessage() + ", and no examples were given");
            }
        }
        validate(examples, description);
        String taskKey = body.taskKey() != null && !body.taskKey().isBlank() ? body.taskKey() : "generated-" + fingerprint(description, examples);
        var result = generators.generate(new Generators.Request(streamId, taskKey, description, examples, method), datasetId, test);
        if (result.isEmpty()) {
            throw new io.lamina.support.ConflictException("no " + (method == null || method.isBlank() ? "" : method + " ")
                    + "generator is trained yet: generators train once the registry holds enough trained adapters "
                    + "(POST /api/hypernetwork/generators to train one now)");
        }
        return ResponseEntity.status(HttpStatus.CREATED).body(result.get());
    }

    record TrainBody(String method) {
    }

    @Operation(summary = "Ask for a new version of a generator, trained from the registry's adapters",
            description = "202: the training workflow starts (one per method at a time); GET /api/hypernetwork/generators shows the versions.")
    @PostMapping("/generators")
    ResponseEntity<Map<String, String>> train(@RequestBody TrainBody body) {
        if (body == null || body.method() == null) throw new IllegalArgumentException("method is required: icm-lora or generative-adapter");
        AdapterGeneration.Method m = AdapterGeneration.Method.fromWire(body.method());
        generators.requestTraining(m, "requested through the API");
        return ResponseEntity.status(HttpStatus.ACCEPTED).body(Map.of("method", m.wire(), "status", "requested",
                "status-resource", "/api/hypernetwork/generators"));
    }

    @Operation(summary = "Every generator version, newest first, with what it learned from")
    @GetMapping("/generators")
    List<GeneratorStore.GeneratorVersion> generatorVersions() {
        return store.versions();
    }

    @Operation(summary = "One generator version")
    @GetMapping("/generators/{id}")
    GeneratorStore.GeneratorVersion generator(@PathVariable String id) {
        return store.get(id).orElseThrow(() -> new NoSuchElementException("no generator " + id));
    }

    @Operation(summary = "Adapters generated lately, with the generator, the time it took and their accuracy where measured")
    @GetMapping("/generated")
    List<GeneratorStore.GeneratedAdapter> generated(@RequestParam(defaultValue = "50") int limit) {
        if (limit < 1 || limit > 500) throw new IllegalArgumentException("limit must be in [1, 500]");
        return store.generated(limit);
    }

    @Operation(summary = "The registered adapter whose task description is nearest to this one")
    @GetMapping("/nearest")
    AdapterIndex.Nearest nearest(@RequestParam String description) {
        return index.nearest(description).orElseThrow(() -> new NoSuchElementException("no adapter is indexed yet"));
    }

    @Operation(summary = "Every indexed adapter")
    @GetMapping("/index")
    List<AdapterIndex.Entry> entries() {
        return index.entries();
    }

    private static void validate(List<LabeledText> examples, String description) {
        if (examples == null || examples.isEmpty()) {
            throw new IllegalArgumentException("examples are required: [{text, label}, ...] (the adapter's head is built from them)");
        }
        if (examples.size() > MAX_EXAMPLES) throw new IllegalArgumentException("at most " + MAX_EXAMPLES + " examples, got " + examples.size());
        for (int i = 0; i < examples.size(); i++) {
            LabeledText e = examples.get(i);
            if (e == null || e.text() == null || e.text().isBlank()) throw new IllegalArgumentException("examples[" + i + "].text is required");
            if (e.label() == null || e.label().isBlank()) throw new IllegalArgumentException("examples[" + i + "].label is required");
            if (e.text().length() > MAX_TEXT) throw new IllegalArgumentException("examples[" + i + "].text is longer than " + MAX_TEXT + " characters");
        }
        if (examples.stream().map(LabeledText::label).distinct().count() < 2) {
            throw new IllegalArgumentException("examples must cover at least 2 labels (a classifier needs classes to tell apart)");
        }
        if (description != null && description.length() > MAX_TEXT) throw new IllegalArgumentException("description is longer than " + MAX_TEXT + " characters");
    }

    private static String fingerprint(String description, List<LabeledText> examples) {
        int h = java.util.Objects.hash(description, examples);
        return HexFormat.of().toHexDigits(h);
    }
}

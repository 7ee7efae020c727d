package io.lamina.composition.api;

import io.lamina.composition.domain.MergeJobs;
import io.lamina.contracts.MergeRequest;
import io.lamina.engine.merge.AdapterMerger;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.*;

import java.net.URI;
import java.util.List;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/merges")
class MergeController {
    private final MergeJobs merges;

    MergeController(MergeJobs merges) {
        this.merges = merges;
    }

    @Operation(summary = "Merge registered adapters into a new registered adapter (202 with the job; closed-form merges are "
            + "already SUCCEEDED, learned merges run in the background)")
    @PostMapping
    ResponseEntity<MergeJobs.MergeJob> merge(@RequestBody MergeRequest request) {
        MergeJobs.MergeJob job = merges.submit(request);
        return ResponseEntity.status(HttpStatus.ACCEPTED).location(URI.create("/api/merges/" + job.mergeId())).body(job);
    }

    @Operation(summary = "A merge job: status, and adapterId and recipe when done")
    @GetMapping("/{mergeId}")
    MergeJobs.MergeJob get(@PathVariable String mergeId) {
        return merges.find(mergeId).orElseThrow(() -> new NoSuchElementException("no merge " + mergeId));
    }

    record MethodInfo(String name, String operatesOn, boolean randomized, List<String> params, String summary) {
    }

    @Operation(summary = "The merge methods: what each operates on (LoRA factors, approximate; or full deltas) and its parameters")
    @GetMapping("/methods")
    List<MethodInfo> methods() {
        List<MethodInfo> out = new java.util.ArrayList<>(AdapterMerger.methods().stream().map(AdapterMerger::describe)
                .map(d -> new MethodInfo(d.name(), d.operatesOn(), d.randomized(), d.params(), d.summary())).toList());
        for (String learned : MergeJobs.LEARNED.stream().sorted().toList()) {
            out.add(new MethodInfo(learned, "DELTAS", false, List.of("datasetId", "examplesPerClass", "steps", "learningRate"),
                    "learned merge: coefficients fitted on a few labelled examples from the dataset store"));
        }
        return out;
    }
}

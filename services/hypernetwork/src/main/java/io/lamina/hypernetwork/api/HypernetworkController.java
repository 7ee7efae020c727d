package io.lamina.hypernetwork.api;

import io.lamina.hypernetwork.domain.AdapterIndex;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/hypernetwork")
class HypernetworkController {
    private final AdapterIndex index;

    HypernetworkController(AdapterIndex index) {
        this.index = index;
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
}

package io.lamina.composition.api;

import io.lamina.composition.domain.AdapterImports;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

import java.io.IOException;
import java.io.UncheckedIOException;

@RestController
class ImportController {
    private final AdapterImports imports;

    ImportController(AdapterImports imports) {
        this.imports = imports;
    }

    @Operation(summary = "Register a LoRA adapter trained elsewhere with PEFT: file = zip of its directory "
            + "(adapter_config.json + adapter_model.safetensors); its head is built from the task's uploaded dataset")
    @PostMapping(path = "/api/adapters/import", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    @ResponseStatus(HttpStatus.CREATED)
    AdapterImports.Imported importAdapter(@RequestPart(value = "file", required = false) MultipartFile file,
                                          @RequestParam(required = false) String streamId,
                                          @RequestParam(required = false) String taskKey,
                                          @RequestParam(required = false) String name) {
        if (file == null) throw new IllegalArgumentException("file is required: a zip of a PEFT adapter directory");
        try {
            return imports.importZip(file.getBytes(), streamId, taskKey, name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

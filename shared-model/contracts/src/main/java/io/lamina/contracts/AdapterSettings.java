package io.lamina.contracts;

import java.util.List;

/** The adapter a stream trains per task (LoRA in this version). */
public record AdapterSettings(String type, int rank, double alpha, double dropout, List<String> targetModules) {
}

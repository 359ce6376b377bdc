package org.headscope.app.cli;

import java.util.List;

/** The analysis commands (sinks, retrieval, ablate, vhd, redistribute), each over one analysis class. */
final class AnalysisCommands {
    private AnalysisCommands() {
    }

    static List<Command> all() {
        return List.of(new RetrievalCommand(), new VhdCommand(), new org.headscope.app.bench.RetrievalBench());
    }
}

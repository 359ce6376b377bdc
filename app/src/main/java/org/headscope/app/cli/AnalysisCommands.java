package org.headscope.app.cli;

import org.headscope.app.bench.AblationBench;
import org.headscope.app.bench.RetrievalBench;

import java.util.List;

/**
 * The analysis commands (sinks, retrieval, ablate, vhd, redistribute, profile), each over one analysis class, and the
 * benchmarks that time them against the reference codes' way.
 */
final class AnalysisCommands {
    private AnalysisCommands() {
    }

    static List<Command> all() {
        return List.of(new SinksCommand(), new RetrievalCommand(), new AblateCommand(), new VhdCommand(), new RedistributeCommand(),
                new ProfileCommand(),
                new AblationBench(), new RetrievalBench(), new PatchCommand(), new DlaCommand(), new LensCommand(), new CompareCommand(),
                new AtlasCommand());
    }
}

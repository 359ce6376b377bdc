package org.headscope.analysis;

import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.ReportWriter;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Writes a report, reads it back and checks that nothing was lost. */
final class ReportRoundTrip {
    private ReportRoundTrip() {
    }

    static HeadReport check(HeadReport report, Path dir) throws Exception {
        ReportWriter.write(report, dir);
        HeadReport back = ReportWriter.read(dir.resolve("report.json"));
        assertEquals(ReportWriter.JSON.writeValueAsString(report), ReportWriter.JSON.writeValueAsString(back));
        assertEquals(report.heads(), back.heads());
        assertEquals(report.analysis(), back.analysis());
        assertEquals(report.provenance(), back.provenance());
        return back;
    }
}

package org.headscope.analysis.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a report as {@code report.json}, {@code report.csv} and {@code report.html} into a folder, as one set
 * (see {@link OutputTarget}): a crash never leaves half a file, and a folder never holds files of two runs.
 */
public final class ReportWriter {
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {
    }

    /** Writes the three files and returns their paths (json, csv, html). */
    public static List<Path> write(HeadReport report, Path dir) throws IOException {
        try (OutputTarget target = OutputTarget.folder(dir)) {
            return target.writeReport(report);
        }
    }

    public static HeadReport read(Path json) throws IOException {
        return JSON.readValue(json.toFile(), HeadReport.class);
    }

    /** Writes text to a temporary file beside the target, then renames it over the target. */
    public static Path atomic(Path target, String content) throws IOException {
        OutputTarget.checkFile(target.toAbsolutePath().normalize());
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            if (Files.getFileStore(tmp).supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)) {
                // temporary files are created owner-only; a report is an ordinary, shareable file
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    /** One row per head; columns are the keys of the head rows in order. */
    public static String csv(HeadReport report) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(report.schema()).append(' ').append(report.analysis())
                .append(" model=").append(report.provenance().model())
                .append(" sha256=").append(report.provenance().modelSha256()).append('\n');
        if (report.heads().isEmpty()) {
            return b.toString();
        }
        List<String> columns = new ArrayList<>(report.heads().get(0).keySet());
        b.append(String.join(",", columns.stream().map(ReportWriter::cell).toList())).append('\n');
        for (Map<String, Object> row : report.heads()) {
            List<String> cells = new ArrayList<>();
            for (String c : columns) {
                cells.add(cell(row.get(c)));
            }
            b.append(String.join(",", cells)).append('\n');
        }
        return b.toString();
    }

    private static String cell(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Double d) {
            return d.isNaN() ? "" : String.format(Locale.ROOT, "%.6g", d);
        }
        String s = String.valueOf(v);
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }
}

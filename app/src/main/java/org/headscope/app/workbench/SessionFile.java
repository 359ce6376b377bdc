package org.headscope.app.workbench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.headscope.analysis.report.ReportWriter;
import org.headscope.hooks.ModelException;

/**
 * A saved workbench session: the model, the prompt, what the attention view shows, and each panel's settings
 * (the ablation panel's toggled heads among them). Opening it reopens the model and re-runs the prompt.
 *
 * @param format      {@link #FORMAT}
 * @param model       a bundled model's name or a path
 * @param prompt      the prompt
 * @param image       the image shown with the prompt to a vision-language model, or empty
 * @param layer       the layer shown
 * @param head        the head shown
 * @param scale       LINEAR or LOG
 * @param showAblated whether the map shows the ablated run
 * @param panels      each panel's settings by its key
 */
public record SessionFile(String format, String model, String prompt, String image, int layer, int head, String scale,
                          boolean showAblated, Map<String, Map<String, Object>> panels) {
    public static final String FORMAT = "headscope-session/1";

    public SessionFile {
        image = image == null ? "" : image;
        panels = panels == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(panels));
    }

    public Path write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        return ReportWriter.atomic(file, ReportWriter.JSON.writeValueAsString(this));
    }

    /** Largest session file read; a real one is a few kilobytes. */
    static final long MAX_BYTES = 4L << 20;

    public static SessionFile read(Path file) throws IOException {
        SessionFile s;
        if (!Files.isRegularFile(file)) {
            throw new ModelException(file + " is not a file.", "Open a .headscope.json file saved with Session > Save session.");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new ModelException(file.getFileName() + " is " + Files.size(file) + " bytes, too large for a session file.",
                    "Open a .headscope.json file saved with Session > Save session.");
        }
        try {
            s = ReportWriter.JSON.readValue(file.toFile(), SessionFile.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new ModelException(file.getFileName() + " is not a HeadScope session file: " + e.getOriginalMessage(),
                    "Open a .headscope.json file saved with Session > Save session.", e);
        }
        if (!FORMAT.equals(s.format())) {
            throw new ModelException(file.getFileName() + " has format '" + s.format() + "', not " + FORMAT + ".",
                    "Open a session saved by this version of HeadScope.");
        }
        String problem = s.problem();
        if (problem != null) {
            throw new ModelException(file.getFileName() + " has a bad value: " + problem + ".",
                    "Fix the value, or save the session again from the workbench; nothing was changed.");
        }
        return s;
    }

    /** The first value of this session that cannot be applied, or null when all can. */
    public String problem() {
        if (model == null || model.isBlank()) {
            return "'model' is missing";
        }
        if (prompt == null) {
            return "'prompt' is missing";
        }
        if (prompt.length() > 1_000_000) {
            return "'prompt' has " + prompt.length() + " characters";
        }
        if (layer < 0 || head < 0) {
            return "'layer' " + layer + " and 'head' " + head + " must be 0 or more";
        }
        if (scale == null) {
            return "'scale' is missing (LINEAR or LOG)";
        }
        try {
            org.headscope.app.attention.ColourScale.valueOf(scale);
        } catch (IllegalArgumentException e) {
            return "'scale' is '" + scale + "'; use " + java.util.Arrays.toString(org.headscope.app.attention.ColourScale.values());
        }
        for (Map.Entry<String, Map<String, Object>> e : panels.entrySet()) {
            if (e.getValue() == null) {
                return "panel '" + e.getKey() + "' has no settings (null)";
            }
        }
        return null;
    }
}

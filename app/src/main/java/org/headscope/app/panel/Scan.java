package org.headscope.app.panel;

import java.util.List;
import java.util.Map;

import org.headscope.analysis.Progress;
import org.headscope.analysis.report.HeadReport;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;

/**
 * One analysis as a workbench panel sees it: its parameters (with the paper's defaults), and a run that returns
 * the analysis's {@link HeadReport}. Adapters live in the feature packages and call the analysis classes directly,
 * the same calls the command line makes.
 */
public interface Scan {
    /** Tab title, e.g. "Sinks". */
    String title();

    /** The parameters the panel shows, in order, with their defaults. */
    List<Parameter> parameters();

    /** The score column the head grid is coloured by at first. */
    String defaultColumn();

    /**
     * Whether the result depends on the workbench's prompt (then it is cleared when another prompt runs); scans over
     * their own probes (sinks, retrieval) keep their result until the model changes.
     */
    default boolean usesPrompt() {
        return true;
    }

    /** Parameters whose typed value belongs to one model (a target continuation): reset to the default on a model switch. */
    default java.util.Set<String> perModelParameters() {
        return java.util.Set.of();
    }

    /**
     * The scan's own headline for a report in one or two sentences (e.g. the answers before and after an edit), put
     * before the panel's generic findings; null when the generic findings say it all.
     */
    default String headline(org.headscope.analysis.report.HeadReport report) {
        return null;
    }

    /** Runs the analysis on the open model; {@code prompt} is the workbench's prompt, for scans that take one. */
    HeadReport run(HookedModel model, String prompt, Values values, Progress progress, CancelToken cancel) throws Exception;

    /**
     * Runs the analysis and keeps its typed result beside the report, for panels that act on it (the Vision panel's
     * VHR heads): the report is what is shown and saved, the result what the workbench computes with.
     */
    default Outcome runTyped(HookedModel model, String prompt, Values values, Progress progress, CancelToken cancel) throws Exception {
        return new Outcome(run(model, prompt, values, progress, cancel), null);
    }

    /**
     * A scan's report with the typed result it was written from.
     *
     * @param report the report the panel shows
     * @param result the analysis's own result, or null when the scan offers none
     */
    record Outcome(HeadReport report, Object result) {
    }

    /**
     * One editable parameter.
     *
     * @param key          name in the session file and the report
     * @param label        what the panel shows
     * @param defaultValue the paper's value, as text
     * @param help         what it means and where the default comes from
     */
    record Parameter(String key, String label, String defaultValue, String help) {
    }

    /** The values the user entered, parsed on demand with a clear message when a value is not a number. */
    record Values(Map<String, String> text) {
        public Values {
            text = Map.copyOf(text);
        }

        public String string(String key) {
            String v = text.get(key);
            if (v == null) {
                throw new IllegalArgumentException("parameter '" + key + "' is missing");
            }
            return v.trim();
        }

        public double number(String key) {
            try {
                return Double.parseDouble(string(key));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("parameter '" + key + "' must be a number, got '" + string(key) + "'");
            }
        }

        public int integer(String key) {
            try {
                return Integer.parseInt(string(key));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("parameter '" + key + "' must be a whole number, got '" + string(key) + "'");
            }
        }
    }
}

package org.headscope.app.util;

import java.util.concurrent.CancellationException;

import org.headscope.hooks.ModelException;

/**
 * A message for the message area: what went wrong (or happened) and what the user can do about it.
 *
 * @param problem what happened, one sentence
 * @param fix     what to do, or empty
 * @param error   true for failures, false for notices (a cancelled run, a file written)
 */
public record Message(String problem, String fix, boolean error) {
    public static Message info(String text) {
        return new Message(text, "", false);
    }

    /** The message for a failed task: a {@link ModelException} keeps its own problem and fix. */
    public static Message of(String what, Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && !(t instanceof ModelException) && t.getCause() != t) {
            if (t instanceof IllegalArgumentException || t instanceof java.io.IOException) {
                break;
            }
            t = t.getCause();
        }
        if (t instanceof ModelException m) {
            return new Message(what + " failed: " + m.problem(), m.fix(), true);
        }
        if (t instanceof CancellationException) {
            return new Message(what + " was cancelled; earlier results are kept.", "", false);
        }
        if (t instanceof java.io.IOException) {
            return new Message(what + " failed: " + t.getMessage(), "Check that the file exists and the folder is writable.", true);
        }
        String text = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return new Message(what + " failed: " + text, "Check the input; earlier results are kept.", true);
    }

    @Override
    public String toString() {
        return fix.isBlank() ? problem : problem + " What to do: " + fix;
    }
}

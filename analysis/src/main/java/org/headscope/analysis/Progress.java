package org.headscope.analysis;

/**
 * Progress of a long scan, reported between runs: the CLI prints a progress line, the workbench a bar.
 */
@FunctionalInterface
public interface Progress {
    Progress NONE = (done, total, message) -> {
    };

    /** {@code done} of {@code total} steps finished; {@code message} says what is being done. */
    void update(long done, long total, String message);
}

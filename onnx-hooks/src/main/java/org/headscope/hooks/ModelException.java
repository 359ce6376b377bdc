package org.headscope.hooks;

/**
 * A model HeadScope cannot open or run, with what went wrong and what the user can do about it.
 * The command line maps it to exit code 3; the workbench shows both sentences.
 */
public final class ModelException extends RuntimeException {
    private final String problem;
    private final String fix;

    public ModelException(String problem, String fix) {
        this(problem, fix, null);
    }

    public ModelException(String problem, String fix, Throwable cause) {
        super(problem + (fix == null || fix.isBlank() ? "" : " Fix: " + fix), cause);
        this.problem = problem;
        this.fix = fix == null ? "" : fix;
    }

    public String problem() {
        return problem;
    }

    public String fix() {
        return fix;
    }
}

package org.headscope.hooks;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CancellationException;

/**
 * Cancellation shared by a long scan and the runs it makes: checked between runs, and a run in flight is
 * terminated through ONNX Runtime's run options.
 */
public final class CancelToken {
    public static final CancelToken NEVER = new CancelToken();

    private volatile boolean cancelled;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public void cancel() {
        if (this == NEVER) {
            return;
        }
        cancelled = true;
        listeners.forEach(Runnable::run);
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Throws {@link CancellationException} when cancelled. */
    public void check() {
        if (cancelled) {
            throw new CancellationException("cancelled");
        }
    }

    /** Runs the action on cancel (at once if already cancelled); returns a handle that removes it. */
    public AutoCloseable onCancel(Runnable action) {
        listeners.add(action);
        if (cancelled) {
            action.run();
        }
        return () -> listeners.remove(action);
    }
}

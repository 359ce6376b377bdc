package org.headscope.app.util;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyStringProperty;

/**
 * Runs {@link BackgroundTask}s one at a time and exposes what is running, so one progress bar and one Cancel
 * button serve every panel. Callbacks run on the thread that owns the properties (the FX thread in the app).
 */
public interface TaskExecutor extends AutoCloseable {
    /** Starts the task (queued behind a running one). */
    <V> void execute(BackgroundTask<V> task);

    /**
     * Starts the task unless one is running; while one is, the task waits as the pending task of its {@code key},
     * replacing the one that waited there (latest wins): a slider drag or a burst of toggles runs the first request and
     * the newest, never every value in between. A replaced task never runs and gets no callback.
     */
    default <V> void executeLatest(Object key, BackgroundTask<V> task) {
        execute(task);
    }

    /** Cancels the running task (its onCancelled callback runs) and drops queued ones. */
    void cancelAll();

    ReadOnlyBooleanProperty busyProperty();

    /** Fraction done in [0,1], or -1 while unknown. */
    ReadOnlyDoubleProperty progressProperty();

    ReadOnlyStringProperty messageProperty();

    @Override
    void close();
}

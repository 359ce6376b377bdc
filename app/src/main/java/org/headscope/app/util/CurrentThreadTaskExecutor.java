package org.headscope.app.util;

import java.util.concurrent.CancellationException;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import org.headscope.hooks.CancelToken;

/**
 * Runs each task at once on the calling thread, callbacks included: makes ViewModels deterministic in tests and
 * lets command-line tools (benchmarks, screenshots) drive them.
 */
public final class CurrentThreadTaskExecutor implements TaskExecutor {
    private final TaskState state = new TaskState();
    private CancelToken current;

    @Override
    public <V> void execute(BackgroundTask<V> task) {
        CancelToken token = new CancelToken();
        current = token;
        state.start(task.title());
        try {
            V value = task.work().call(state::update, token);
            state.idle();
            task.succeeded(value);
        } catch (CancellationException e) {
            state.idle();
            task.cancelled();
        } catch (Exception e) {
            state.idle();
            task.failed(e);
        } finally {
            current = null;
        }
    }

    @Override
    public void cancelAll() {
        if (current != null) {
            current.cancel();
        }
    }

    @Override
    public ReadOnlyBooleanProperty busyProperty() {
        return state.busy();
    }

    @Override
    public ReadOnlyDoubleProperty progressProperty() {
        return state.progress();
    }

    @Override
    public ReadOnlyStringProperty messageProperty() {
        return state.message();
    }

    @Override
    public void close() {
        cancelAll();
    }
}

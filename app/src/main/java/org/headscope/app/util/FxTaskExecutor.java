package org.headscope.app.util;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javafx.application.Platform;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import org.headscope.hooks.CancelToken;

/**
 * Runs tasks on one daemon worker thread (one at a time: the model's sessions are shared) and delivers progress
 * and results on the FX thread, so the window never blocks on a model run.
 */
public final class FxTaskExecutor implements TaskExecutor {
    private final TaskState state = new TaskState();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "headscope-worker");
        t.setDaemon(true);
        return t;
    });
    private final Deque<Runnable> pending = new ArrayDeque<>();
    private CancelToken current;
    private boolean running;

    @Override
    public <V> void execute(BackgroundTask<V> task) {
        pending.add(() -> start(task));
        if (!running) {
            next();
        }
    }

    private void next() {
        Runnable r = pending.poll();
        if (r == null) {
            running = false;
            state.idle();
            return;
        }
        running = true;
        r.run();
    }

    private <V> void start(BackgroundTask<V> task) {
        CancelToken token = new CancelToken();
        current = token;
        state.start(task.title());
        worker.execute(() -> {
            try {
                V value = task.work().call((done, total, msg) -> Platform.runLater(() -> {
                    if (current == token) {
                        state.update(done, total, msg);
                    }
                }), token);
                Platform.runLater(() -> finish(() -> {
                    if (token.isCancelled()) {
                        task.cancelled();
                    } else {
                        task.succeeded(value);
                    }
                }));
            } catch (CancellationException e) {
                Platform.runLater(() -> finish(task::cancelled));
            } catch (Throwable e) {
                Platform.runLater(() -> finish(() -> task.failed(e)));
            }
        });
    }

    private void finish(Runnable callback) {
        current = null;
        try {
            callback.run();
        } finally {
            next();
        }
    }

    @Override
    public void cancelAll() {
        pending.clear();
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
        worker.shutdown();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

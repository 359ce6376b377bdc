package org.headscope.app.util;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Executor;
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
 * and results on the FX thread, so the window never blocks on a model run. Tasks queue behind the running one;
 * {@link #executeLatest} tasks of one key coalesce, so the queue holds at most one of them (the newest).
 */
public final class FxTaskExecutor implements TaskExecutor {
    /** A queued task; {@code key} is null for tasks that never coalesce. */
    private record Pending(Object key, Runnable start) {
    }

    private final TaskState state = new TaskState();
    private final Executor worker;
    private final Executor ui;
    private final Deque<Pending> pending = new ArrayDeque<>();
    private CancelToken current;
    private boolean running;

    public FxTaskExecutor() {
        this(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "headscope-worker");
            t.setDaemon(true);
            return t;
        }), Platform::runLater);
    }

    /**
     * The work runs on {@code worker}, everything else (callbacks, progress, the queue) on {@code ui}, the thread
     * that calls {@link #execute}; tests pass executors they step by hand.
     */
    public FxTaskExecutor(Executor worker, Executor ui) {
        this.worker = Objects.requireNonNull(worker);
        this.ui = Objects.requireNonNull(ui);
    }

    @Override
    public <V> void execute(BackgroundTask<V> task) {
        enqueue(null, task);
    }

    @Override
    public <V> void executeLatest(Object key, BackgroundTask<V> task) {
        enqueue(Objects.requireNonNull(key), task);
    }

    private <V> void enqueue(Object key, BackgroundTask<V> task) {
        Pending p = new Pending(key, () -> start(task));
        if (key != null) {
            // the newest request takes the place of a waiting one of the same key (its place in the queue too)
            for (var it = pending.iterator(); it.hasNext(); ) {
                Pending q = it.next();
                if (key.equals(q.key())) {
                    it.remove();
                }
            }
        }
        pending.add(p);
        if (!running) {
            next();
        }
    }

    private void next() {
        Pending p = pending.poll();
        if (p == null) {
            running = false;
            state.idle();
            return;
        }
        running = true;
        p.start().run();
    }

    private <V> void start(BackgroundTask<V> task) {
        CancelToken token = new CancelToken();
        current = token;
        state.start(task.title());
        worker.execute(() -> {
            try {
                V value = task.work().call((done, total, msg) -> ui.execute(() -> {
                    if (current == token) {
                        state.update(done, total, msg);
                    }
                }), token);
                ui.execute(() -> finish(() -> {
                    if (token.isCancelled()) {
                        task.cancelled();
                    } else {
                        task.succeeded(value);
                    }
                }));
            } catch (CancellationException e) {
                ui.execute(() -> finish(task::cancelled));
            } catch (Throwable e) {
                ui.execute(() -> finish(() -> task.failed(e)));
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

    /** How many tasks wait behind the running one. */
    public int pendingCount() {
        return pending.size();
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
        if (worker instanceof ExecutorService service) {
            service.shutdown();
            try {
                service.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

package org.headscope.app.util;

import java.util.Objects;
import java.util.function.Consumer;

import org.headscope.analysis.Progress;
import org.headscope.hooks.CancelToken;

/**
 * Work for a background thread, free of JavaFX: a title, the work itself (given a progress callback and a cancel
 * token), and what to do with the result or the failure. The executor decides on which thread the callbacks run.
 *
 * @param <V> the result
 */
public final class BackgroundTask<V> {
    /** The work: reports progress, honours cancellation, returns a value or throws. */
    @FunctionalInterface
    public interface Work<V> {
        V call(Progress progress, CancelToken cancel) throws Exception;
    }

    private final String title;
    private final Work<V> work;
    private Consumer<V> onSuccess = v -> {
    };
    private Consumer<Throwable> onFailure = e -> {
    };
    private Runnable onCancelled = () -> {
    };

    private BackgroundTask(String title, Work<V> work) {
        this.title = title;
        this.work = work;
    }

    public static <V> BackgroundTask<V> of(String title, Work<V> work) {
        return new BackgroundTask<>(Objects.requireNonNull(title), Objects.requireNonNull(work));
    }

    public BackgroundTask<V> onSuccess(Consumer<V> action) {
        this.onSuccess = action;
        return this;
    }

    public BackgroundTask<V> onFailure(Consumer<Throwable> action) {
        this.onFailure = action;
        return this;
    }

    public BackgroundTask<V> onCancelled(Runnable action) {
        this.onCancelled = action;
        return this;
    }

    public String title() {
        return title;
    }

    public Work<V> work() {
        return work;
    }

    void succeeded(V value) {
        onSuccess.accept(value);
    }

    void failed(Throwable e) {
        onFailure.accept(e);
    }

    void cancelled() {
        onCancelled.run();
    }
}

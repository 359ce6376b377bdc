package org.headscope.app.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class CurrentThreadTaskExecutorTest {
    @Test
    void deliversResultFailureAndCancellationInOrder() {
        CurrentThreadTaskExecutor ex = new CurrentThreadTaskExecutor();
        List<String> seen = new ArrayList<>();
        List<Double> progress = new ArrayList<>();
        ex.progressProperty().addListener((o, a, b) -> progress.add(b.doubleValue()));
        ex.execute(BackgroundTask.of("sum", (p, c) -> {
            p.update(1, 4, "a quarter");
            return 2 + 3;
        }).onSuccess(v -> seen.add("ok " + v)));
        ex.execute(BackgroundTask.<Integer>of("fail", (p, c) -> {
            throw new IllegalStateException("boom");
        }).onFailure(e -> seen.add("failed " + e.getMessage())));
        ex.execute(BackgroundTask.<Integer>of("cancel", (p, c) -> {
            ex.cancelAll();
            c.check();
            return 1;
        }).onSuccess(v -> seen.add("not cancelled")).onCancelled(() -> seen.add("cancelled")));
        assertEquals(List.of("ok 5", "failed boom", "cancelled"), seen);
        assertTrue(progress.contains(0.25));
        assertFalse(ex.busyProperty().get());
    }
}

package org.headscope.app.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Executor;

import org.junit.jupiter.api.Test;

/** The executor's queue with both threads stepped by hand: which requests run is decided, not raced. */
class LatestWinsTest {
    /** Runs what it is given only when asked. */
    static final class Manual implements Executor {
        final Deque<Runnable> queue = new ArrayDeque<>();
        int ran;

        @Override
        public void execute(Runnable r) {
            queue.add(r);
        }

        boolean step() {
            Runnable r = queue.poll();
            if (r != null) {
                ran++;
                r.run();
            }
            return r != null;
        }
    }

    static void drain(Manual worker, Manual ui) {
        while (worker.step() | ui.step()) {
            // until neither thread has anything left
        }
    }

    @Test
    void tenRequestsWhileOneRunsRunTheFirstAndTheLastOnly() {
        Manual worker = new Manual();
        Manual ui = new Manual();
        FxTaskExecutor ex = new FxTaskExecutor(worker, ui);
        List<Integer> ran = new ArrayList<>();
        List<Integer> shown = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            int value = i;
            ex.executeLatest("run", BackgroundTask.of("run " + value, (p, c) -> {
                ran.add(value);
                return value;
            }).onSuccess(shown::add));
            // request 1 is in flight (its work is handed to the worker, which has not run it); 2..10 replace each other
            assertEquals(1, worker.queue.size(), "one task in flight at a time");
            assertEquals(value == 1 ? 0 : 1, ex.pendingCount(), "at most one request of the key waits");
        }
        assertTrue(ex.busyProperty().get());
        drain(worker, ui);
        assertEquals(List.of(1, 10), ran, "the first request and the newest ran, nothing in between");
        assertEquals(List.of(1, 10), shown);
        assertFalse(ex.busyProperty().get());
    }

    @Test
    void otherTasksKeepTheirPlaceAndAreNeverDropped() {
        Manual worker = new Manual();
        Manual ui = new Manual();
        FxTaskExecutor ex = new FxTaskExecutor(worker, ui);
        List<String> ran = new ArrayList<>();
        ex.execute(BackgroundTask.of("open", (p, c) -> ran.add("open")));
        ex.executeLatest("run", BackgroundTask.of("a", (p, c) -> ran.add("run a")));
        ex.execute(BackgroundTask.of("scan", (p, c) -> ran.add("scan")));
        ex.executeLatest("run", BackgroundTask.of("b", (p, c) -> ran.add("run b")));
        ex.executeLatest("other", BackgroundTask.of("c", (p, c) -> ran.add("other c")));
        drain(worker, ui);
        assertEquals(List.of("open", "scan", "run b", "other c"), ran);
    }

    @Test
    void aDragOfTheAblationAlphaSliderRunsTheModelTwiceAndShowsTheLastValue() {
        Manual worker = new Manual();
        Manual ui = new Manual();
        FxTaskExecutor ex = new FxTaskExecutor(worker, ui);
        try (var vm = new org.headscope.app.workbench.WorkbenchViewModel(ex, Settings.inMemory())) {
            vm.start();
            drain(worker, ui);
            assertTrue(vm.attention().runProperty().get() != null, "the model opened and ran: " + vm.messageProperty().get());
            var head = new org.headscope.hooks.Intervention.Head(1, 2);
            vm.ablation().set(org.headscope.analysis.AblationMode.SCALE, 0.05, List.of(head));
            worker.ran = 0;
            // the drag: the first value starts a run, the next nine arrive while it is in flight
            for (int i = 1; i <= 10; i++) {
                vm.ablation().alphaProperty().set(i / 5.0);
            }
            assertEquals(1, worker.queue.size(), "one run in flight");
            drain(worker, ui);
            assertEquals(2, worker.ran, "the run in flight and the newest value, not one run per value");
            var edit = vm.attention().runProperty().get().intervention().headEdits().get(head);
            assertEquals(2.0f, edit.gain(), 1e-6f, "the map on screen is the last value's");
        }
    }
}

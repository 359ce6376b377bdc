package org.headscope.app.cli;

import org.headscope.analysis.Progress;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScanIoTest {
    private static String drive(boolean inPlace, int total) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Progress p = ScanIo.progressLine(err, inPlace);
        for (int done = 0; done <= total; done++) {
            p.update(done, total, "step " + done);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aLogGetsOneLinePerTenthOfTheWorkAndTheLastOne() {
        String log = drive(false, 2400);
        assertFalse(log.contains("\r"), "no carriage returns in a log");
        List<String> lines = log.lines().toList();
        // 0, 240, 480, ..., 2400: the first update of each tenth, the last one once
        assertEquals(11, lines.size(), log);
        assertEquals("[   0/2400] step 0", lines.get(0));
        assertEquals("[ 240/2400] step 240", lines.get(1));
        assertEquals("[2400/2400] step 2400", lines.get(10));
    }

    @Test
    void aShortScanPrintsEveryStepOnce() {
        List<String> lines = drive(false, 3).lines().toList();
        assertEquals(List.of("[0/3] step 0", "[1/3] step 1", "[2/3] step 2", "[3/3] step 3"), lines);
    }

    @Test
    void aTerminalLineIsRewrittenInPlaceAndEndedOnce() {
        String out = drive(true, 5);
        assertEquals(6, out.chars().filter(c -> c == '\r').count());
        assertTrue(out.endsWith("\r[5/5] step 5" + System.lineSeparator()), out);
        assertEquals(1, out.chars().filter(c -> c == '\n').count(), "one line end, after the last update");
    }

    @Test
    void ctrlCDuringAScanCancelsItAndLeavesTheJvmRunning() throws Exception {
        boolean[] tripped = {false};
        try (Interrupts ignored = Interrupts.install(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), true)) {
            assertThrows(java.util.concurrent.CancellationException.class, () -> ScanIo.cancellable(cancel -> {
                raiseAndWait(cancel);
                tripped[0] = cancel.isCancelled();
                return true;
            }));
        }
        assertTrue(tripped[0], "SIGINT trips the scan's cancel token");
    }

    @Test
    void ctrlCWhileTheModelLoadsCancelsTheCommandOnceTheLoadReturns() throws Exception {
        try (Interrupts ignored = Interrupts.install(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), true)) {
            raiseAndWait(ScanIo.token());
            Args args = new Args(new String[]{"../onnx-hooks/src/test/fixtures/llama/model.onnx", "--device", "cpu"}, java.util.Set.of());
            assertThrows(java.util.concurrent.CancellationException.class, () -> ModelArgs.open(args));
        }
    }

    /** Raises SIGINT in this process and waits for the handler (run on a thread of its own) to trip the token. */
    private static void raiseAndWait(org.headscope.hooks.CancelToken token) {
        java.util.concurrent.CountDownLatch tripped = new java.util.concurrent.CountDownLatch(1);
        try (AutoCloseable ignored = token.onCancel(tripped::countDown)) {
            sun.misc.Signal.raise(new sun.misc.Signal("INT"));
            tripped.await();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}

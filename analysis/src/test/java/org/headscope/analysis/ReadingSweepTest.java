package org.headscope.analysis;

import org.headscope.analysis.core.Heads;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.OutputGather;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logits only where read: the sweep that gathers the read positions before the LM head (and takes the residual
 * streams from the clean run, through cached suffix sessions) gives the same per-head effects as the sweep that
 * fetches the logits of every position. Max |diff| of loss change, KL and logit-difference change below 1e-5 (float32
 * sums over the same products in another order).
 */
class ReadingSweepTest {
    private static final double TOL = 1e-5;

    @Test
    void gatheredLogitsGiveTheSameEffectsOnTheFixtures() {
        for (String fixture : List.of("gpt2", "gpt2-past", "llama", "llama-past")) {
            try (HookedModel m = HookedModel.open(Path.of("../onnx-hooks/src/test/fixtures").resolve(fixture).resolve("model.onnx"),
                    DevicePreference.CPU)) {
                AblationScan.Target target = new AblationScan.Target(new long[]{37, 43, 12, 8, 5}, new long[]{63, 9, 11}, 5, 17);
                compare(m, target, fixture);
            }
        }
    }

    @Test
    void gatheredLogitsGiveTheSameEffectsOnNeedleGpt() {
        try (HookedModel m = HookedModel.open(BundledModels.folder("needle-gpt"), DevicePreference.CPU)) {
            assertTrue(OutputGather.apply(m.model().skeleton(), "logits").beforeHead(), "the Gather goes before the LM head");
            long[] prompt = m.requireTokenizer().encode("the secret code of the iron mountain is two apples . question : what is "
                    + "the secret code of the iron mountain ? answer :").ids();
            long[] target = m.requireTokenizer().encodePlain("two apples");
            compare(m, new AblationScan.Target(prompt, target, target[0], 5), "needle-gpt");
        }
    }

    private static void compare(HookedModel m, AblationScan.Target target, String what) {
        List<Head> heads = Heads.all(m);
        for (AblationMode mode : List.of(AblationMode.ZERO, AblationMode.UNIFORM, AblationMode.BOS)) {
            AblationScan scan = new AblationScan(m, AblationScan.Params.DEFAULTS.withMode(mode, 1f).withBatchSize(3), null);
            AblationScan.Outcome clean = scan.clean(target, CancelToken.NEVER);
            List<AblationScan.HeadEffect> full = scan.sweepFullOutput(target, clean, heads, Progress.NONE, CancelToken.NEVER);
            AblationScan.Swept read = scan.sweepReading(target, heads, Progress.NONE, CancelToken.NEVER);
            assertEquals(clean.loss(), read.clean().loss(), TOL, what + " clean loss");
            double worst = 0;
            for (int i = 0; i < heads.size(); i++) {
                AblationScan.Effect x = full.get(i).effect();
                AblationScan.Effect y = read.effects().get(i).effect();
                assertEquals(full.get(i).head(), read.effects().get(i).head());
                worst = Math.max(worst, Math.abs(x.lossDelta() - y.lossDelta()));
                worst = Math.max(worst, Math.abs(x.kl() - y.kl()));
                worst = Math.max(worst, Math.abs(x.logitDiffDelta() - y.logitDiffDelta()));
            }
            assertTrue(worst < TOL, what + " " + mode + ": max |diff| " + worst);
            List<AblationScan.HeadEffect> viaSweep = scan.sweep(target, clean, heads, Progress.NONE, CancelToken.NEVER);
            for (int i = 0; i < heads.size(); i++) {
                assertEquals(full.get(i).effect().lossDelta(), viaSweep.get(i).effect().lossDelta(), TOL);
            }
        }
    }
}

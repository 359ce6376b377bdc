package org.headscope.analysis;

import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.Intervention.Head;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one ablation mode type: both means named apart, and the prompt's own mean measured against a run built by hand. */
class AblationModeTest {
    private static final Path GPT2 = Path.of("../onnx-hooks/src/test/fixtures/gpt2/model.onnx");

    @Test
    void idsParseAndTheTwoMeansAreApart() {
        assertEquals(AblationMode.MEAN_REFERENCE, AblationMode.parse("mean"));
        assertEquals(AblationMode.MEAN_PROMPT, AblationMode.parse("mean-prompt"));
        assertEquals(AblationMode.MEAN_PROMPT, AblationMode.parse("MEAN_PROMPT"));
        assertEquals(AblationMode.SCALE, AblationMode.parse(" Scale "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AblationMode.parse("half"));
        assertTrue(e.getMessage().contains("zero, mean, mean-prompt, uniform, bos or scale"), e.getMessage());
        assertEquals(List.of(AblationMode.ZERO, AblationMode.MEAN_PROMPT, AblationMode.UNIFORM, AblationMode.BOS, AblationMode.SCALE),
                AblationMode.withoutReferences());
        assertEquals(2.0f, AblationScan.Params.DEFAULTS.alpha(), "the sweep's default gain is VHR's");
        assertEquals(AblationMode.DEFAULT_ALPHA, AblationScan.Params.DEFAULTS.alpha());
    }

    @Test
    void promptMeanAblationReplacesZByItsMeanOverThePromptsPositions() throws Exception {
        long[] prompt = {37, 43, 12, 8};
        long[] continuation = {63, 9, 11};
        long[] ids = {37, 43, 12, 8, 63, 9, 11};
        Head head = new Head(1, 0);
        try (HookedModel m = HookedModel.open(GPT2, DevicePreference.CPU)) {
            AblationScan.Target target = AblationScan.Target.of(prompt, continuation);
            AblationScan.Params p = AblationScan.Params.DEFAULTS.withMode(AblationMode.MEAN_PROMPT, 1f);
            AblationScan scan = new AblationScan(m, p, AblationScan.means(m, AblationMode.MEAN_PROMPT, target, () -> {
                throw new AssertionError("the prompt's own mean asks for no reference prompts");
            }, CancelToken.NEVER));
            double lossDelta = scan.sweep(target, scan.clean(target, CancelToken.NEVER), List.of(head), Progress.NONE, CancelToken.NEVER)
                    .get(0).effect().lossDelta();

            // by hand: z of the head over the prompt, averaged; that vector written over z at every position of the full run
            FloatTensor z = m.session(TapSet.of(TapKind.HEAD_OUTPUT, List.of(head.layer())), HookSet.NONE)
                    .run(RunRequest.tokens(prompt).withOutputs(Set.of()), CancelToken.NEVER).tap(TapKind.HEAD_OUTPUT, head.layer());
            int dh = z.dim(3);
            float[] mean = new float[dh];
            for (int j = 0; j < dh; j++) {
                double s = 0;
                for (int q = 0; q < prompt.length; q++) {
                    s += z.get(0, head.head(), q, j);
                }
                mean[j] = (float) (s / prompt.length);
            }
            Intervention edit = Intervention.builder().replaceHead(head.layer(), head.head(), mean).build();
            FloatTensor logits = m.session(TapSet.NONE, HookSet.HEAD).run(RunRequest.tokens(ids).withOutputs(Set.of("logits"))
                    .withInterventions(List.of(Intervention.NONE, edit)), CancelToken.NEVER).output("logits");
            double expected = loss(logits, 1, ids, prompt.length) - loss(logits, 0, ids, prompt.length);
            assertTrue(Math.abs(expected) > 1e-4, "the edit changes the loss");
            assertEquals(expected, lossDelta, 1e-4);
        }
    }

    private static double loss(FloatTensor logits, int b, long[] ids, int from) {
        double sum = 0;
        for (int pos = from; pos < ids.length; pos++) {
            float[] row = logits.slice(b, pos - 1).data();
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            double z = 0;
            for (float v : row) {
                z += Math.exp(v - max);
            }
            sum += max + Math.log(z) - row[(int) ids[pos]];
        }
        return sum / (ids.length - from);
    }
}

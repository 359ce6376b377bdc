package org.headscope.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.VisionParts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** VHD's filter, selection and T-VHD by hand, and the causal check on the bundled VLM. */
class VisionDivergenceTest {
    @Test
    void outlierFilterMedianSelectionAndTopKSumWorkedByHand() {
        double[][] raw = {{1, 2, 3, 10}, {4, 0.5, 0.5, 0.5}};
        double[][] norm = {{1, 1, 1, 10}, {0.1, 5, 5, 5}};
        VisionDivergence.Divergence d = VisionDivergence.divergence(raw, norm, 2);
        // layer 0: head 3 has VHD 10 > 4 + 3.54 and text norm 10 > 3.25 + 3.62: an outlier, set to 0
        assertArrayEquals(new double[]{1, 2, 3, 0}, d.vhd()[0]);
        // layer 1: head 0's VHD 4 > 1.375 + 1.52 but its text norm 0.1 is small: kept
        assertArrayEquals(new double[]{4, 0.5, 0.5, 0.5}, d.vhd()[1]);
        // medians 1.5 and 0.5; strictly above them
        assertArrayEquals(new boolean[]{false, true, true, false}, d.visionAware()[0]);
        assertArrayEquals(new boolean[]{true, false, false, false}, d.visionAware()[1]);
        assertEquals((3 + 2) + (4 + 0.5), d.tvhd(), 1e-12);
    }

    @Test
    void plantedVisionHeadIsTheOnlyVisionAwareHeadAndItsVhdIsWorkedOutByHand(@TempDir Path dir) throws Exception {
        int[][] rgb = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        for (int n = 0; n < 4; n++) {
            img.setRGB(n % 2, n / 2, rgb[n][0] << 16 | rgb[n][1] << 8 | rgb[n][2]);
        }
        try (HookedModel m = HookedModel.open(PlantedDecoders.plantedVisionModel(dir), DevicePreference.CPU)) {
            VisionParts v = m.vision().orElseThrow();
            long[] ids = m.requireTokenizer().encode("red fox").ids();
            assertArrayEquals(new long[]{1, PlantedDecoders.WORDS.indexOf("red"), PlantedDecoders.WORDS.indexOf("fox")}, ids);
            double[] image = new double[PlantedDecoders.CONTENT];
            for (int[] px : rgb) {
                for (int c = 0; c < 3; c++) {
                    image[c] += px[c] / 255.0 / rgb.length;
                }
            }
            double[] text = new double[PlantedDecoders.CONTENT];
            for (long id : ids) {
                text[(int) (id % PlantedDecoders.CONTENT)] += 1.0 / ids.length;
            }
            double expected = 0;
            double textNorm = 0;
            for (int c = 0; c < PlantedDecoders.CONTENT; c++) {
                expected += (image[c] - text[c]) * (image[c] - text[c]);
                textNorm += text[c] * text[c];
            }
            FloatTensor emb = v.encodeImage(v.pixels(img));
            VisionDivergence.Divergence d = VisionDivergence.measure(m, v.sequence(ids, emb), v.sequence(ids, null), Intervention.NONE,
                    8, CancelToken.NEVER);
            assertEquals(Math.sqrt(expected), d.vhd()[0][PlantedDecoders.VISION_HEAD], 1e-5);
            for (int h = 0; h < 4; h++) {
                assertEquals(Math.sqrt(textNorm), d.textNorm()[0][h], 1e-5, "text-only norm of head " + h);
                if (h != PlantedDecoders.VISION_HEAD) {
                    assertEquals(0.0, d.vhd()[0][h], 1e-5, "text head " + h);
                }
                assertEquals(h == PlantedDecoders.VISION_HEAD, d.visionAware()[0][h]);
            }
            VisionDivergence.Result r = VisionDivergence.analyse(m, img, "red fox", VisionDivergence.Params.DEFAULTS,
                    Progress.NONE, CancelToken.NEVER);
            Intervention.Head first = new Intervention.Head(0, PlantedDecoders.VISION_HEAD);
            VisionDivergence.Divergence recomputed = VisionDivergence.measure(m, v.sequence(ids, emb), v.sequence(ids, null),
                    Intervention.builder().scaleHead(0, PlantedDecoders.VISION_HEAD, 2f).build(), 8, CancelToken.NEVER);
            List<Intervention.Head> expectedHeads = new ArrayList<>(List.of(first));
            for (int h = 0; h < 4; h++) {
                if (recomputed.visionAware()[1][h]) {
                    expectedHeads.add(new Intervention.Head(1, h));
                }
            }
            assertEquals(expectedHeads, r.reinforced(), "layer 1 chosen on VHD recomputed with layer 0 reinforced");
            assertEquals(2 * d.raw()[0][0], r.after().raw()[0][0], 1e-5, "alpha = 2 doubles the reinforced head's divergence");
            assertEquals(0.0, r.after().vhd()[0][0], "its text-only norm doubled too, so the outlier filter now drops it");
            assertEquals(d.tvhd(), r.initial().tvhd(), 1e-9);
            assertTrue(!r.before().text().isEmpty() && !Double.isNaN(r.withVhr().margin()));
        }
    }

    /**
     * Per held-out sample, the top VHD heads (an eighth of all heads) are zeroed, or reinforced by alpha = 2, and so are
     * five random draws of as many heads; the change of the correct answer's logit margin is averaged over samples.
     */
    @Test
    void topVhdHeadsMoveTheImageAnswerMoreThanAsManyRandomHeads() throws Exception {
        assumeTrue(BundledModels.available().contains("shapes-vlm"), "shapes-vlm is not in this build");
        Path folder = BundledModels.folder("shapes-vlm");
        JsonNode samples = new ObjectMapper().readTree(folder.resolve("samples").resolve("samples.json").toFile()).get("samples");
        try (HookedModel m = HookedModel.open(folder, DevicePreference.CPU)) {
            VisionParts v = m.vision().orElseThrow();
            int all = m.layers() * m.heads();
            int k = Math.max(2, all / 8);
            double[] top = new double[2];
            double[] random = new double[2];
            int n = Math.min(6, samples.size());
            Random rnd = new Random(11);
            for (int s = 0; s < n; s++) {
                JsonNode sample = samples.get(s);
                BufferedImage img = ImageIO.read(folder.resolve("samples").resolve(sample.get("image").asText()).toFile());
                long[] ids = m.requireTokenizer().encode(sample.get("question").asText()).ids();
                long answer = m.requireTokenizer().encodePlain(sample.get("answer").asText())[0];
                FloatTensor image = v.encodeImage(v.pixels(img));
                VisionDivergence.Divergence d = VisionDivergence.measure(m, v.sequence(ids, image), v.sequence(ids, null),
                        Intervention.NONE, 8, CancelToken.NEVER);
                List<Intervention.Head> heads = new ArrayList<>();
                for (int l = 0; l < m.layers(); l++) {
                    for (int h = 0; h < m.heads(); h++) {
                        heads.add(new Intervention.Head(l, h));
                    }
                }
                heads.sort(Comparator.comparingDouble((Intervention.Head h) -> -d.vhd()[h.layer()][h.head()]));
                List<Intervention.Head> chosen = heads.subList(0, k);
                List<Intervention> edits = new ArrayList<>(List.of(Intervention.NONE, edit(chosen, 0f), edit(chosen, 2f)));
                List<Intervention.Head> others = new ArrayList<>(heads.subList(k, all));
                for (int draw = 0; draw < 5; draw++) {
                    Collections.shuffle(others, rnd);
                    edits.add(edit(others.subList(0, k), 0f));
                    edits.add(edit(others.subList(0, k), 2f));
                }
                FloatTensor logits = VisionDivergence.nextTokenLogits(m, ids, image, edits, CancelToken.NEVER);
                double clean = margin(logits, 0, answer);
                for (int mode = 0; mode < 2; mode++) {
                    top[mode] += Math.abs(margin(logits, 1 + mode, answer) - clean) / n;
                    for (int draw = 0; draw < 5; draw++) {
                        random[mode] += Math.abs(margin(logits, 3 + 2 * draw + mode, answer) - clean) / (5.0 * n);
                    }
                }
            }
            assertTrue(top[0] > random[0], "zeroing: top VHD heads move the margin by " + top[0] + ", random heads by " + random[0]);
            assertTrue(top[1] > random[1], "reinforcing: top VHD heads move the margin by " + top[1] + ", random heads by " + random[1]);
        }
    }

    @Test
    void analysisReportsBeforeAndAfterAnswersOnTheBundledVlm() throws Exception {
        assumeTrue(BundledModels.available().contains("shapes-vlm"), "shapes-vlm is not in this build");
        Path folder = BundledModels.folder("shapes-vlm");
        JsonNode sample = new ObjectMapper().readTree(folder.resolve("samples").resolve("samples.json").toFile()).get("samples").get(0);
        try (HookedModel m = HookedModel.open(folder, DevicePreference.CPU)) {
            BufferedImage img = ImageIO.read(folder.resolve("samples").resolve(sample.get("image").asText()).toFile());
            VisionDivergence.Result r = VisionDivergence.analyse(m, img, sample.get("question").asText(),
                    VisionDivergence.Params.DEFAULTS, Progress.NONE, CancelToken.NEVER);
            assertEquals(sample.get("model_answer").asText(), r.before().text(), "greedy answer as the training script decoded it");
            int aware = 0;
            for (boolean[] layer : r.initial().visionAware()) {
                for (boolean b : layer) {
                    aware += b ? 1 : 0;
                }
            }
            assertTrue(aware > 0 && aware < m.layers() * m.heads());
            assertTrue(r.reinforced().stream().allMatch(h -> h.layer() >= 0 && h.layer() < m.layers()));
            HeadReport report = r.toReport(Provenance.of(m, "sample 0", VisionDivergence.metricVersions()));
            assertEquals(m.layers() * m.heads(), report.heads().size());
        }
    }

    private static Intervention edit(List<Intervention.Head> heads, float gain) {
        Intervention.Builder b = Intervention.builder();
        heads.forEach(h -> b.scaleHead(h.layer(), h.head(), gain));
        return b.build();
    }

    /** The answer token's logit minus the best other logit. */
    private static double margin(FloatTensor logits, int row, long answer) {
        double best = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.dim(1); i++) {
            if (i != answer) {
                best = Math.max(best, logits.get(row, i));
            }
        }
        return logits.get(row, (int) answer) - best;
    }
}

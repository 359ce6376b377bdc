package org.headscope.app;

import org.headscope.app.workbench.Workbench;
import org.headscope.app.workbench.WorkbenchView;
import org.headscope.app.workbench.WorkbenchViewModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javafx.geometry.Point2D;
import javafx.scene.control.Label;
import javafx.scene.image.Image;
import javafx.scene.image.PixelReader;
import javafx.scene.input.MouseButton;
import javafx.scene.layout.FlowPane;
import org.headscope.analysis.report.Viridis;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.attention.ColourScale;
import org.headscope.app.attention.HeatmapView;
import org.headscope.app.export.Png;
import org.headscope.app.util.FxTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.Intervention;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

/**
 * The workbench on JavaFX's Headless platform, driven by TestFX on the bundled MiniLM: what the screen shows is
 * read back (pixels, labels) and compared with what the engine returns for the same input.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkbenchGuiTest {
    /** One 8-bit colour step moves the inverted position by well under this. */
    static final double COLOUR_TOLERANCE = 0.01;

    static WorkbenchViewModel vm;
    static WorkbenchView view;
    final FxRobot robot = new FxRobot();

    @BeforeAll
    static void launch() throws Exception {
        FxToolkit.registerPrimaryStage();
        Settings settings = Settings.inMemory();
        settings.put("width", 1000.0);
        settings.put("height", 900.0);
        vm = WaitForAsyncUtils.asyncFx(() -> new WorkbenchViewModel(new FxTaskExecutor(), settings)).get();
        FxToolkit.setupStage(stage -> {
            view = Workbench.show(stage, vm);
            // the headless screen is 1000 px wide: the user's move of the divider that makes every panel tab visible
            ((javafx.scene.control.SplitPane) view.lookup("#main-split")).setDividerPositions(0.3);
        });
        WaitForAsyncUtils.asyncFx(vm::start).get();
        awaitRun(() -> vm.attention().runProperty().get() != null);
    }

    @AfterAll
    static void close() throws Exception {
        FxToolkit.cleanupStages();
        vm.close();
    }

    static void awaitRun(Supplier<Boolean> done) throws Exception {
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> done.get() && !vm.executor().busyProperty().get());
        WaitForAsyncUtils.waitForFxEvents();
    }

    static HookedModel model() {
        return vm.models().current().model();
    }

    static FloatTensor engineMap(int layer, int head) {
        long[] ids = vm.attention().runProperty().get().tokens().ids();
        return model().session(TapSet.of(TapKind.PROBS, List.of(layer)), HookSet.NONE).run(RunRequest.tokens(ids))
                .tap(TapKind.PROBS, layer).slice(0, head);
    }

    /** Reads the heatmap's pixels back and inverts the colour map at the centre of every cell. */
    static double[][] shownPositions() throws Exception {
        HeatmapView hv = view.attentionView().heatmap();
        Image img = WaitForAsyncUtils.asyncFx(() -> Png.snapshot(hv.mapView(), 1)).get();
        int cell = hv.cellSize();
        int rows = (int) img.getHeight() / cell;
        int cols = (int) img.getWidth() / cell;
        PixelReader px = img.getPixelReader();
        double[][] t = new double[rows][cols];
        for (int q = 0; q < rows; q++) {
            for (int k = 0; k < cols; k++) {
                t[q][k] = Viridis.invert(px.getArgb(k * cell + cell / 2, q * cell + cell / 2) & 0xffffff);
            }
        }
        return t;
    }

    @Test
    @Order(1)
    void launchOpensTheBundledModelAndShowsItsTokensAndFacts() {
        assertEquals("all-MiniLM-L6-v2", robot.lookup("#model-name").queryAs(Label.class).getText());
        assertTrue(robot.lookup("#model-facts").queryAs(Label.class).getText().contains("6 layers \u00d7 12 heads"));
        assertTrue(robot.lookup("#model-device").queryAs(Label.class).getText().startsWith("CPU"));
        AttentionRun run = vm.attention().runProperty().get();
        FlowPane strip = robot.lookup("#token-strip").queryAs(FlowPane.class);
        assertEquals(run.tokens().size(), strip.getChildren().size());
        assertEquals("[CLS]", ((Label) strip.getChildren().getFirst()).getText());
        double[] rates = run.sinkRates(0.3);
        for (int i = 0; i < rates.length; i++) {
            assertEquals(rates[i] >= 0.25, strip.getChildren().get(i).getStyleClass().contains("sink"), "token " + i);
        }
    }

    @Test
    @Order(2)
    void clickingATileShowsThatHeadsProbabilitiesInLinearAndLogColours() throws Exception {
        robot.clickOn("#tile-2-3");
        assertEquals(2, vm.attention().layerProperty().get());
        assertEquals(3, vm.attention().headProperty().get());
        FloatTensor expected = engineMap(2, 3);
        double[][] linear = shownPositions();
        assertEquals(expected.dim(0), linear.length);
        assertEquals(expected.dim(1), linear[0].length);
        for (int q = 0; q < expected.dim(0); q++) {
            for (int k = 0; k < expected.dim(1); k++) {
                assertEquals(expected.get(q, k), linear[q][k], COLOUR_TOLERANCE, "cell " + q + "," + k);
            }
        }
        robot.clickOn("#scale-log");
        assertEquals(ColourScale.LOG, vm.attention().scaleProperty().get());
        double[][] log = shownPositions();
        for (int q = 0; q < expected.dim(0); q++) {
            for (int k = 0; k < expected.dim(1); k++) {
                assertEquals(ColourScale.LOG.position(expected.get(q, k)), log[q][k], COLOUR_TOLERANCE, "cell " + q + "," + k);
            }
        }
        robot.clickOn("#scale-linear");
    }

    @Test
    @Order(3)
    void hoveringACellReadsOutQueryKeyAndValue() {
        HeatmapView hv = view.attentionView().heatmap();
        int cell = hv.cellSize();
        Point2D p = hv.mapView().localToScreen(1 * cell + cell / 2.0, 3 * cell + cell / 2.0);
        robot.moveTo(p);
        String text = robot.lookup("#readout").queryAs(Label.class).getText();
        FloatTensor expected = engineMap(2, 3);
        String[] s = vm.attention().runProperty().get().tokens().strings();
        assertTrue(text.contains("query 3 '" + s[3] + "'"), text);
        assertTrue(text.contains("key 1 '" + s[1] + "'"), text);
        assertTrue(text.endsWith(String.format(Locale.ROOT, "%.4f", expected.get(3, 1))), text);
    }

    @Test
    @Order(4)
    void rightClickingATileReRunsWithThatHeadZeroedAsTheEngineDoes() throws Exception {
        AttentionRun before = vm.attention().runProperty().get();
        robot.clickOn("#tile-1-4", MouseButton.SECONDARY);
        awaitRun(() -> vm.attention().runProperty().get() != before);
        AttentionRun after = vm.attention().runProperty().get();
        assertTrue(after.hasAblation());
        long[] ids = after.tokens().ids();
        float[] clean = WorkbenchViewModelTest.pooled(model().plain().run(RunRequest.tokens(ids)));
        float[] ablated = WorkbenchViewModelTest.pooled(model().session(TapSet.NONE, HookSet.HEAD)
                .run(RunRequest.tokens(ids).withIntervention(Intervention.builder().zeroHead(1, 4).build())));
        double cos = WorkbenchViewModelTest.cosine(clean, ablated);
        String shown = robot.lookup("#ablation-summary").queryAs(Label.class).getText();
        double shownCos = Double.parseDouble(shown.substring(shown.lastIndexOf('=') + 1).trim());
        assertEquals(cos, shownCos, 2e-5, shown);
        assertTrue(shownCos < 0.99999, shown);
        assertTrue(robot.lookup("#ablation-heads").queryAs(Label.class).getText().contains("1.4"));
        robot.clickOn("#tile-1-4", MouseButton.SECONDARY);
        awaitRun(() -> !vm.attention().runProperty().get().hasAblation());
    }

    @Test
    @Order(6)
    void exportedPngsHaveTheFiguresSizeAtOneAndTwoTimesAndAreNotBlank(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        javafx.scene.layout.Region figure = view.attentionView().heatmap().figure();
        double w = figure.getWidth();
        double h = figure.getHeight();
        java.nio.file.Path one = dir.resolve("map.png");
        java.nio.file.Path two = dir.resolve("map@2x.png");
        robot.interact(() -> {
            try {
                Png.write(figure, 1, one);
                Png.write(figure, 2, two);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        java.awt.image.BufferedImage a = javax.imageio.ImageIO.read(one.toFile());
        java.awt.image.BufferedImage b = javax.imageio.ImageIO.read(two.toFile());
        assertEquals(Math.ceil(w), a.getWidth(), 1);
        assertEquals(Math.ceil(h), a.getHeight(), 1);
        assertEquals(2 * a.getWidth(), b.getWidth(), 2);
        assertEquals(2 * a.getHeight(), b.getHeight(), 2);
        assertTrue(distinctColours(a) > 20, "the 1x map has its colours");
        assertTrue(distinctColours(b) > 20, "the 2x map has its colours");

        AttentionRun run = vm.attention().runProperty().get();
        java.nio.file.Path sheet = dir.resolve("sheet.png");
        int[] size = new int[2];
        robot.interact(() -> {
            try {
                var node = org.headscope.app.export.ContactSheet.build(run, 2, ColourScale.LINEAR, false);
                size[0] = (int) Math.ceil(node.getWidth());
                size[1] = (int) Math.ceil(node.getHeight());
                Png.write(node, 2, sheet);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        java.awt.image.BufferedImage c = javax.imageio.ImageIO.read(sheet.toFile());
        assertEquals(2 * size[0], c.getWidth(), 2);
        assertEquals(2 * size[1], c.getHeight(), 2);
        assertTrue(distinctColours(c) > 50);
    }

    @Test
    @Order(7)
    void theProfilePanelRunsAndColoursTheGridByItsTopHead() throws Exception {
        robot.clickOn("Head profile");
        robot.doubleClickOn("#head-profile-offset").write("1");
        assertEquals("1", vm.scan("Head profile").valueProperty("offset").get());
        robot.clickOn("#head-profile-run");
        awaitRun(() -> vm.scan("Head profile").reportProperty().get() != null);
        var scan = vm.scan("Head profile");
        @SuppressWarnings("unchecked")
        javafx.scene.control.TableView<java.util.Map<String, Object>> table = robot.lookup("#head-profile-table").queryAs(javafx.scene.control.TableView.class);
        var top = table.getItems().getFirst();
        double best = scan.reportProperty().get().heads().stream().mapToDouble(h -> (Double) h.get("first_token")).max().orElseThrow();
        assertEquals(best, (Double) top.get("first_token"), 0);
        String tile = org.headscope.app.attention.HeadGridView.tileId((Integer) top.get("layer"), (Integer) top.get("head"));
        assertTrue(robot.lookup("#" + tile).query().getStyle().contains(Viridis.hex(1.0)), robot.lookup("#" + tile).query().getStyle());
        assertTrue(robot.lookup("#grid-legend").queryAs(Label.class).getText().contains("first_token"));
        robot.clickOn("Ablation");
        assertEquals("", robot.lookup("#" + tile).query().getStyle());
    }

    /** Sets a panel's parameters through its text fields, runs it from its button, and returns the table rows. */
    java.util.List<java.util.Map<String, Object>> runPanel(String title, String id, java.util.Map<String, String> values) throws Exception {
        robot.clickOn(title);
        for (var e : values.entrySet()) {
            robot.doubleClickOn("#" + id + "-" + e.getKey());
            robot.interact(() -> robot.lookup("#" + id + "-" + e.getKey()).queryAs(javafx.scene.control.TextField.class).clear());
            robot.write(e.getValue());
            assertEquals(e.getValue(), vm.scan(title).valueProperty(e.getKey()).get());
        }
        var before = vm.scan(title).reportProperty().get();
        robot.clickOn("#" + id + "-run");
        awaitRun(() -> vm.scan(title).reportProperty().get() != before && vm.scan(title).reportProperty().get() != null);
        @SuppressWarnings("unchecked")
        javafx.scene.control.TableView<java.util.Map<String, Object>> table = robot.lookup("#" + id + "-table").queryAs(javafx.scene.control.TableView.class);
        return java.util.List.copyOf(table.getItems());
    }

    static void assertSameRanking(java.util.List<java.util.Map<String, Object>> shown, java.util.List<java.util.Map<String, Object>> direct,
                                  String column) {
        var expected = new java.util.ArrayList<>(direct);
        expected.sort((a, b) -> Double.compare(((Number) b.get(column)).doubleValue(), ((Number) a.get(column)).doubleValue()));
        assertEquals(expected.size(), shown.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(((Number) expected.get(i).get(column)).doubleValue(), ((Number) shown.get(i).get(column)).doubleValue(), 1e-6,
                    "rank " + i + " of " + column);
        }
    }

    @Test
    @Order(8)
    void theSinksPanelShowsWhatSinkScanReturnsForTheSameProbes() throws Exception {
        var shown = runPanel("Sinks", "sinks", java.util.Map.of("prompts", "3", "tokens", "24"));
        var tk = model().requireTokenizer();
        var d = org.headscope.analysis.SinkScan.Params.DEFAULTS.withTokens(24);
        var probes = org.headscope.app.model.BundledTexts.haystackProbes(tk, 24, 3, 7).stream().map(tk::encode).toList();
        var direct = org.headscope.analysis.SinkScan.run(model(), org.headscope.analysis.SinkScan.Prompts.texts(model(), "haystack", probes), d,
                org.headscope.analysis.Progress.NONE, org.headscope.hooks.CancelToken.NEVER)
                .toReport(org.headscope.analysis.report.Provenance.of(model(), "", org.headscope.analysis.SinkScan.METRICS));
        assertSameRanking(shown, direct.heads(), "colmean_k0");
        assertTrue(robot.lookup("#grid-legend").queryAs(Label.class).getText().contains("Sinks: colmean_k0"));
    }

    @Test
    @Order(9)
    void theAblationSweepPanelShowsWhatAblationScanReturnsForThePrompt() throws Exception {
        var shown = runPanel("Ablation sweep", "ablation-sweep", java.util.Map.of("batch", "24"));
        var tk = model().requireTokenizer();
        var target = org.headscope.analysis.AblationScan.Target.of(tk.encode(vm.attention().promptProperty().get()).ids(),
                tk.encodePlain(" the end."));
        var direct = org.headscope.analysis.AblationScan.run(model(), target,
                        org.headscope.analysis.AblationScan.Params.DEFAULTS.withBatchSize(24), org.headscope.analysis.Progress.NONE,
                        org.headscope.hooks.CancelToken.NEVER)
                .toReport(org.headscope.analysis.report.Provenance.of(model(), "", org.headscope.analysis.AblationScan.METRICS));
        assertSameRanking(shown, direct.heads(), "cosine_distance");
    }

    @Test
    @Order(10)
    void redistributionSlidersReRunLiveAndShowWhatRedistributionReturns() throws Exception {
        var red = vm.redistribution();
        robot.clickOn("Redistribution");
        robot.clickOn("#redistribution-method");
        robot.clickOn("ZeroTuning");
        assertEquals(org.headscope.app.redistribution.RedistributionMethod.ZEROTUNING, red.methodProperty().get());
        var first = red.resultProperty().get();
        robot.clickOn("#redistribution-run");
        awaitRun(() -> red.resultProperty().get() != first);
        var before = red.resultProperty().get();
        robot.clickOn("#redistribution-gamma");
        awaitRun(() -> red.resultProperty().get() != before);
        double gamma = red.valueProperty(org.headscope.app.redistribution.RedistributionMethod.ZEROTUNING, "gamma").get();
        assertTrue(Math.abs(gamma - 3.5) > 0.05, "the click moved the slider: " + gamma);
        long[] ids = model().requireTokenizer().encode(vm.attention().promptProperty().get()).ids();
        var direct = org.headscope.analysis.Redistribution.run(model(), RunRequest.tokens(ids),
                new org.headscope.analysis.Redistribution.ZeroTuning(gamma, org.headscope.analysis.Redistribution.Scope.ALL,
                        List.of(), List.of()), null, org.headscope.analysis.Progress.NONE, org.headscope.hooks.CancelToken.NEVER);
        String shown = robot.lookup("#redistribution-summary").queryAs(Label.class).getText();
        assertTrue(shown.endsWith(String.format(Locale.ROOT, "output cosine distance %.6f", direct.cosine())), shown + " vs " + direct.cosine());
        // before and after share one scale, from 0 to the larger maximum of the two maps
        var view = (org.headscope.app.redistribution.RedistributionView) robot.lookup("#panel-redistribution").query();
        double top = view.sharedRange()[1];
        Image after = WaitForAsyncUtils.asyncFx(() -> Png.snapshot(robot.lookup("#redistribution-after").query(), 1)).get();
        FloatTensor expected = direct.after().get(2).slice(3);
        double max = 0;
        for (FloatTensor m : List.of(expected, direct.before().get(2).slice(3))) {
            for (float v : m.data()) {
                max = Math.max(max, v);
            }
        }
        assertEquals(max, top, 1e-6);
        int cell = (int) after.getWidth() / expected.dim(1);
        for (int q = 0; q < expected.dim(0); q++) {
            double t = Viridis.invert(after.getPixelReader().getArgb(cell / 2, q * cell + cell / 2) & 0xffffff);
            assertEquals(expected.get(q, 0) / top, t, COLOUR_TOLERANCE, "row " + q);
        }
    }

    @Test
    @Order(11)
    void cancellingAScanKeepsTheEarlierReportAndTheWindowResponds() throws Exception {
        var sinks = vm.scan("Sinks");
        var earlier = sinks.reportProperty().get();
        robot.clickOn("Sinks");
        robot.interact(() -> {
            sinks.valueProperty("prompts").set("400");
            sinks.valueProperty("tokens").set("128");
        });
        robot.clickOn("#sinks-run");
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> vm.executor().busyProperty().get());
        robot.clickOn("#layer-spinner");
        assertTrue(vm.executor().busyProperty().get(), "the scan is still running while the window takes clicks");
        robot.clickOn("#cancel");
        awaitRun(() -> vm.messageProperty().get() != null);
        assertTrue(vm.messageProperty().get().problem().contains("cancelled"), vm.messageProperty().get().problem());
        assertSame(earlier, sinks.reportProperty().get());
        assertEquals("400", sinks.valueProperty("prompts").get());
        robot.interact(() -> vm.messageProperty().set(null));
    }

    @Test
    @Order(12)
    void aVisionLanguageModelShowsItsImageTokensAndTheHeadsAttentionOverThePatches(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path png = dir.resolve("quad.png");
        java.awt.image.BufferedImage quad = new java.awt.image.BufferedImage(2, 2, java.awt.image.BufferedImage.TYPE_INT_RGB);
        quad.setRGB(0, 0, 0xff0000);
        quad.setRGB(1, 0, 0x00ff00);
        quad.setRGB(0, 1, 0x0000ff);
        quad.setRGB(1, 1, 0xffff00);
        javax.imageio.ImageIO.write(quad, "png", png.toFile());
        String folder = java.nio.file.Path.of("src/test/fixtures/planted-vlm").toAbsolutePath().toString();
        robot.interact(() -> {
            vm.attention().promptProperty().set("the magic word is quartz");
            vm.attention().imagePathProperty().set(png.toString());
            vm.open(folder);
        });
        awaitRun(() -> vm.attention().runProperty().get() != null && vm.attention().runProperty().get().patches() != null);
        assertTrue(robot.lookup("#image-pane").query().isVisible());
        AttentionRun run = vm.attention().runProperty().get();
        FlowPane strip = robot.lookup("#token-strip").queryAs(FlowPane.class);
        assertEquals(List.of("\u25a30,0", "\u25a30,1", "\u25a31,0", "\u25a31,1"),
                strip.getChildren().subList(1, 5).stream().map(n -> ((Label) n).getText()).toList());
        robot.clickOn("#tile-1-0");

        var vision = model().vision().orElseThrow();
        long[] ids = model().requireTokenizer().encode("the magic word is quartz").ids();
        var embeds = vision.sequence(ids, vision.encodeImage(vision.pixels(quad)));
        FloatTensor a = model().session(TapSet.of(TapKind.PROBS, List.of(1)), HookSet.NONE).run(RunRequest.embeddings(embeds))
                .tap(TapKind.PROBS, 1).slice(0, 0);
        int last = a.dim(0) - 1;
        double max = 0;
        double total = 0;
        for (int i = 0; i < 4; i++) {
            max = Math.max(max, a.get(last, 1 + i));
            total += a.get(last, 1 + i);
        }
        assertTrue(total > 0.99, "head 0 attends only to the image: " + total);
        // the overlay's own pixels (on screen they are blended over the photo at the slider's opacity), on the scale
        // shared by every head for this query
        double top = robot.lookup("#image-pane").queryAs(org.headscope.app.attention.ImagePane.class).scaleMax();
        assertTrue(top >= max - 1e-6, "the shared scale reaches at least this head's brightest patch");
        Image overlay = robot.lookup("#image-attention").queryAs(javafx.scene.image.ImageView.class).getImage();
        int cell = (int) overlay.getWidth() / 2;
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 2; c++) {
                double t = Viridis.invert(overlay.getPixelReader().getArgb(c * cell + cell / 2, r * cell + cell / 2) & 0xffffff);
                assertEquals(a.get(last, 1 + 2 * r + c) / top, t, COLOUR_TOLERANCE, "patch " + r + "," + c);
            }
        }
        String caption = robot.lookup("#image-caption").queryAs(Label.class).getText();
        assertTrue(caption.contains(String.format(Locale.ROOT, "puts %.3f on the image", total)), caption);
        assertEquals(run.tokens().size(), a.dim(0));

        var shown = runPanel("Vision", "vision", java.util.Map.of("image", png.toString()));
        var direct = org.headscope.analysis.VisionDivergence.analyse(model(), quad, "the magic word is quartz",
                org.headscope.analysis.VisionDivergence.Params.DEFAULTS, org.headscope.analysis.Progress.NONE,
                org.headscope.hooks.CancelToken.NEVER)
                .toReport(org.headscope.analysis.report.Provenance.of(model(), "", org.headscope.analysis.VisionDivergence.metricVersions()));
        assertSameRanking(shown, direct.heads(), "vhd");
        assertTrue(robot.lookup("#vision-summary").queryAs(Label.class).getText().contains("answer_with_vhr"));
        AttentionRun beforeVhr = vm.attention().runProperty().get();
        robot.clickOn("#apply-vhr");
        awaitRun(() -> vm.attention().runProperty().get() != beforeVhr);
        var reinforced = direct.heads().stream().filter(r -> ((Number) r.get("reinforced")).doubleValue() > 0)
                .map(r -> r.get("layer") + "." + r.get("head")).toList();
        assertTrue(vm.attention().runProperty().get().hasAblation());
        assertEquals("Ablated: " + String.join(", ", reinforced), robot.lookup("#ablation-heads").queryAs(Label.class).getText());
    }

    static int distinctColours(java.awt.image.BufferedImage img) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                colours.add(img.getRGB(x, y));
            }
        }
        return colours.size();
    }

    @Test
    @Order(5)
    void anEmptyPromptShowsTheProblemAndKeepsTheMap() throws Exception {
        AttentionRun before = vm.attention().runProperty().get();
        String prompt = vm.attention().promptProperty().get();
        robot.doubleClickOn("#prompt");
        robot.interact(() -> vm.attention().promptProperty().set(""));
        robot.clickOn("#run");
        awaitRun(() -> vm.messageProperty().get() != null);
        assertTrue(robot.lookup("#message-bar").query().isVisible());
        assertTrue(robot.lookup("#message-problem").queryAs(Label.class).getText().contains("prompt is empty"));
        assertTrue(robot.lookup("#message-fix").queryAs(Label.class).getText().startsWith("What to do:"));
        assertSame(before, vm.attention().runProperty().get());
        robot.interact(() -> {
            vm.attention().promptProperty().set(prompt);
            vm.messageProperty().set(null);
        });
        assertNotSame(null, vm.attention().runProperty().get());
    }
}

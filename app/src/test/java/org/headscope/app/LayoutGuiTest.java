package org.headscope.app;

import org.headscope.app.workbench.Workbench;
import org.headscope.app.workbench.WorkbenchView;
import org.headscope.app.workbench.WorkbenchViewModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javafx.geometry.Bounds;
import javafx.scene.Node;
import javafx.scene.image.Image;
import javafx.scene.image.PixelReader;
import javafx.stage.Stage;
import org.headscope.analysis.report.Viridis;
import org.headscope.app.attention.HeatmapView;
import org.headscope.app.attention.OutputStrip;
import org.headscope.app.redistribution.RedistributionMethod;
import org.headscope.app.redistribution.RedistributionView;
import org.headscope.app.export.Png;
import org.headscope.app.panel.ScanViewModel;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.FloatTensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

/**
 * The workbench at the sizes researchers use (1366 x 768 and 1600 x 1000) on a 512-token needle episode of needle-gpt:
 * the map keeps at least 400 x 400 px on screen, the output strip and the panel results lie inside the window, the
 * map's pixels still invert to the model's probabilities, a model switch clears every result, and the redistribution
 * maps share one colour scale.
 */
class LayoutGuiTest {
    static final double COLOUR_TOLERANCE = 0.01;

    WorkbenchViewModel vm;
    WorkbenchView view;
    Stage stage;

    @BeforeAll
    static void toolkit() throws Exception {
        FxToolkit.registerPrimaryStage();
        // the Headless platform's screen is 1000 px wide: a larger window lays out and snapshots as on a real screen,
        // but the platform's blit to its own frame buffer throws on the FX thread, which is not this test's concern
        WaitForAsyncUtils.autoCheckException = false;
    }

    @org.junit.jupiter.api.AfterAll
    static void restore() {
        WaitForAsyncUtils.clearExceptions();
        WaitForAsyncUtils.autoCheckException = true;
    }

    @AfterEach
    void close() throws Exception {
        if (stage != null) {
            WaitForAsyncUtils.asyncFx(() -> stage.close()).get();
        }
        if (vm != null) {
            vm.close();
        }
    }

    /** A needle episode of exactly {@code tokens} tokens (BOS included) in needle-gpt's word-level format. */
    static String needleEpisode(int tokens) throws Exception {
        String haystack = Files.readString(BundledModels.needles().resolve("haystack.txt"));
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile("\\w+|[^\\w\\s]+").matcher(haystack);
        while (m.find()) {
            words.add(m.group());
        }
        String needle = "the secret code of the iron mountain is two apples .";
        String question = "question : what is the secret code of the iron mountain ? answer :";
        int n = tokens - 1 - needle.split(" ").length - question.split(" ").length;
        List<String> hay = new ArrayList<>(words.subList(0, n));
        int at = (int) (n * 0.4);
        while (!hay.get(at - 1).equals(".")) {
            at--;
        }
        hay.add(at, needle);
        return String.join(" ", hay) + " " + question;
    }

    void open(double width, double height, String prompt) throws Exception {
        Settings settings = Settings.inMemory();
        settings.put("width", width);
        settings.put("height", height);
        settings.put("model", "needle-gpt");
        settings.put("prompt", prompt);
        vm = WaitForAsyncUtils.asyncFx(() -> new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings)).get();
        WaitForAsyncUtils.asyncFx(() -> {
            stage = new Stage();
            view = Workbench.show(stage, vm);
            vm.start();
            vm.attention().layerProperty().set(2);
            vm.attention().headProperty().set(5);
            view.applyCss();
            view.layout();
        }).get();
        WaitForAsyncUtils.waitForFxEvents();
    }

    static Bounds inScene(Node n) {
        return n.localToScene(n.getBoundsInLocal());
    }

    static void assertInside(Node n, double width, double height, String what) {
        assertTrue(n.isVisible() && n.getScene() != null, what + " is shown");
        Bounds b = inScene(n);
        assertTrue(b.getMinX() >= -0.5 && b.getMinY() >= -0.5 && b.getMaxX() <= width + 0.5 && b.getMaxY() <= height + 0.5,
                what + " lies inside the " + width + " x " + height + " window: " + b);
        assertTrue(b.getWidth() > 20 && b.getHeight() > 10, what + " has room: " + b);
    }

    @ParameterizedTest
    @CsvSource({"1366, 768", "1600, 1000"})
    void aLongNeedleEpisodeLeavesTheMapTheOutputAndThePanelResultsOnScreen(double width, double height) throws Exception {
        open(width, height, needleEpisode(512));
        var run = vm.attention().runProperty().get();
        assertEquals(512, run.tokens().size());
        HeatmapView hv = view.attentionView().heatmap();
        // the map's visible area: its image clipped by the scroll pane's viewport
        Bounds image = inScene(hv.mapView());
        Bounds viewport = hv.mapScroll().localToScene(hv.mapScroll().getBoundsInLocal());
        double visibleW = Math.min(image.getMaxX(), viewport.getMaxX()) - Math.max(image.getMinX(), viewport.getMinX());
        double visibleH = Math.min(image.getMaxY(), viewport.getMaxY()) - Math.max(image.getMinY(), viewport.getMinY());
        assertTrue(visibleW >= 400 && visibleH >= 400, "visible map " + visibleW + " x " + visibleH);
        assertInside(view.lookup("#output-strip"), width, height, "the output strip");
        assertTrue(view.lookup("#needle-answer") != null, "a needle episode shows the greedy answer");
        assertInside(view.lookup("#heatmap-title"), width, height, "the map's title");
        // the Sinks panel's findings are never clipped, and the score heat map's colour bar stays in view beside the grid
        WaitForAsyncUtils.asyncFx(() -> {
            vm.scan("Sinks").run(vm.attention().promptProperty().get());
            view.selectPanel("Sinks");
            view.applyCss();
            view.layout();
        }).get();
        WaitForAsyncUtils.waitForFxEvents();
        WaitForAsyncUtils.asyncFx(() -> {
            view.applyCss();
            view.layout();
        }).get();
        var findings = (javafx.scene.control.Label) view.lookup("#sinks-summary");
        assertTrue(findings.getText().contains("sink_head"), findings.getText());
        Node up = findings.getParent();
        while (!(up instanceof javafx.scene.control.ScrollPane)) {
            up = up.getParent();
        }
        var findingsScroll = (javafx.scene.control.ScrollPane) up;
        assertTrue(findings.getHeight() <= findingsScroll.getViewportBounds().getHeight() + 1,
                "the findings fit their area: " + findings.getHeight() + " in " + findingsScroll.getViewportBounds());
        Node scoreMap = view.lookup("#score-heatmap");
        assertInside(scoreMap, width, height, "the score heat map");
        Bounds gridArea = inScene(view.lookup("#grid-area"));
        Bounds bar = inScene(scoreMap);
        assertTrue(bar.getMaxX() <= gridArea.getMaxX() + 0.5 && bar.getMaxY() <= gridArea.getMaxY() + 0.5,
                "the score heat map and its colour bar lie inside the grid area: " + bar + " in " + gridArea);
        assertTrue(hv.title().contains("needle-gpt") && hv.title().contains("layer 2, head 5"), hv.title());
        // every panel's results area lies inside the window
        for (String title : view.panelTitles()) {
            WaitForAsyncUtils.asyncFx(() -> {
                view.selectPanel(title);
                view.applyCss();
                view.layout();
            }).get();
            WaitForAsyncUtils.waitForFxEvents();
            String key = title.toLowerCase(java.util.Locale.ROOT).replace(' ', '-');
            Node results = title.equals("Ablation") ? view.lookup("#ablation-summary")
                    : title.equals("Redistribution") ? view.lookup("#redistribution-summary") : view.lookup("#" + key + "-table");
            assertNotNull(results, title);
            assertInside(results, width, height, title + "'s results");
        }
        // pixel read-back: every cell of the shown rows inverts to the engine's probability
        FloatTensor expected = run.map(2, 5, false);
        Image img = WaitForAsyncUtils.asyncFx(() -> Png.snapshot(hv.mapView(), 1)).get();
        int cell = hv.cellSize();
        assertEquals(1, hv.poolSize(), "512 tokens: one cell per token");
        PixelReader px = img.getPixelReader();
        for (int q : new int[]{0, 100, 300, 511}) {
            for (int k = 0; k <= q; k += 7) {
                double t = Viridis.invert(px.getArgb(k * cell + cell / 2, q * cell + cell / 2) & 0xffffff);
                assertEquals(expected.get(q, k), t, COLOUR_TOLERANCE, "cell " + q + "," + k);
            }
        }
        // the exported figure holds the whole map (not only the part in view) with title and colour bar, at 1x and 2x
        double[] size = WaitForAsyncUtils.asyncFx(() -> {
            var fig = hv.exportFigure();
            var one = Png.snapshot(fig, 1);
            var two = Png.snapshot(fig, 2);
            return new double[]{one.getWidth(), one.getHeight(), two.getWidth(), two.getHeight()};
        }).get();
        assertTrue(size[0] >= 512 * cell + 74 && size[1] >= 512 * cell + 54, "the whole map: " + size[0] + " x " + size[1]);
        assertEquals(2 * size[0], size[2], 2);
        assertEquals(2 * size[1], size[3], 2);
        String svg = WaitForAsyncUtils.asyncFx(view::mapSvg).get();
        assertTrue(org.headscope.app.attention.FiguresTest.texts(org.headscope.app.attention.FiguresTest.parse(svg)).contains(hv.title()));
        // labels by importance: the last query and a needle token are labelled
        List<Integer> labelled = hv.labelledTokens(512, cell);
        assertTrue(labelled.contains(511), "the last query is labelled");
        boolean[] needle = vm.attention().needleMask();
        assertTrue(labelled.stream().anyMatch(i -> needle[i]), "a needle token is labelled");
    }

    @Test
    void aModelSwitchClearsEveryPanelsResultAndTheOutput() throws Exception {
        open(1366, 768, "dont worry , be happy . the secret code of the iron mountain is two apples . question : what is the secret code of the iron mountain ? answer :");
        assertNotNull(vm.attention().answerProperty().get());
        var answer = vm.attention().answerProperty().get();
        assertEquals("two apples", answer.expected());
        assertEquals(answer.clean().trim().equals("two apples"), answer.cleanRight(), "right exactly when the greedy answer is the needle's");
        WaitForAsyncUtils.asyncFx(() -> {
            vm.scan("Head profile").run(vm.attention().promptProperty().get());
            vm.scan("Ablation sweep").valueProperty("target").set(" two apples");
            vm.redistribution().methodProperty().set(RedistributionMethod.ZEROTUNING);
            vm.redistribution().run(vm.attention().promptProperty().get(), "");
        }).get();
        assertNotNull(vm.scan("Head profile").report());
        assertNotNull(vm.redistribution().resultProperty().get());
        RedistributionView rv = (RedistributionView) view.lookup("#panel-redistribution");
        double[] range = rv.sharedRange();
        var r = vm.redistribution().resultProperty().get();
        FloatTensor before = r.before().get(2).slice(5);
        FloatTensor after = r.after().get(2).slice(5);
        double max = 0;
        for (FloatTensor t : List.of(before, after)) {
            for (float v : t.data()) {
                max = Math.max(max, v);
            }
        }
        assertEquals(0, range[0]);
        assertEquals(max, range[1], 1e-6, "before and after share one scale up to the larger maximum");
        WaitForAsyncUtils.asyncFx(() -> vm.open("needle-llama")).get();
        WaitForAsyncUtils.waitForFxEvents();
        for (ScanViewModel s : vm.scans()) {
            assertNull(s.report(), s.scan().title() + " is cleared");
        }
        assertNull(vm.redistribution().resultProperty().get(), "redistribution is cleared");
        assertEquals(" the end.", vm.scan("Ablation sweep").valueProperty("target").get(), "the typed target belongs to the old model");
        assertEquals("needle-llama", vm.models().titleProperty().get());
        assertTrue(vm.attention().runProperty().get().source().equals("needle-llama"));
        assertFalse(vm.models().recent().isEmpty(), "Model > Recent lists the models opened");
        assertTrue(((javafx.scene.control.Label) view.lookup("#redistribution-summary")).getText().startsWith("Press Run"));
        assertTrue(view.lookup("#output-strip") instanceof OutputStrip);
    }

    @Test
    void controlsFxStatusBarAndPropertySheetDriveTheWorkbench() throws Exception {
        open(1366, 768, "dont worry , be happy . question : what ? answer :");
        assertTrue(view.lookup("#status-bar") instanceof org.controlsfx.control.StatusBar);
        assertEquals("Ready", ((javafx.scene.control.Label) view.lookup("#status-text")).getText());
        var sheet = (org.controlsfx.control.PropertySheet) view.lookup("#head-profile-parameters");
        assertNotNull(sheet);
        assertEquals(vm.scan("Head profile").scan().parameters().size(), sheet.getItems().size());
        WaitForAsyncUtils.asyncFx(() -> {
            view.selectPanel("Head profile");
            view.applyCss();
            view.layout();
            ((javafx.scene.control.TextField) view.lookup("#head-profile-offset")).setText("3");
        }).get();
        assertEquals("3", vm.scan("Head profile").valueProperty("offset").get(), "the sheet's editor writes the panel's value");
        sheet.getItems().getFirst().setValue("2");
        assertEquals("2", vm.scan("Head profile").valueProperty("offset").get(), "the sheet's item writes the panel's value");
        WaitForAsyncUtils.asyncFx(() -> vm.scan("Head profile").run(vm.attention().promptProperty().get())).get();
        String tip = vm.scan("Head profile").tooltip("first_token");
        assertTrue(tip.contains("mean attention on the first token") && tip.contains("definition: headscope-profile-v1"), tip);
        assertTrue(vm.scan("Head profile").findings().contains("ranked by first_token"), vm.scan("Head profile").findings());
    }

    @Test
    void controlsFxSegmentedButtonsAndTheLayerRangeSliderDriveTheViewModels() throws Exception {
        open(1366, 768, "dont worry , be happy . question : what ? answer :");
        assertTrue(view.lookup("#ablation-mode") instanceof org.controlsfx.control.SegmentedButton);
        assertTrue(view.lookup("#scale-buttons") instanceof org.controlsfx.control.SegmentedButton);
        vm.ablation().liveProperty().set(false);
        WaitForAsyncUtils.asyncFx(() -> ((javafx.scene.control.ToggleButton) view.lookup("#ablation-mode-uniform")).fire()).get();
        assertEquals(org.headscope.analysis.AblationMode.UNIFORM, vm.ablation().modeProperty().get(), "the button sets the mode");
        WaitForAsyncUtils.asyncFx(() -> ((javafx.scene.control.ToggleButton) view.lookup("#ablation-mode-uniform")).fire()).get();
        assertEquals(org.headscope.analysis.AblationMode.UNIFORM, vm.ablation().modeProperty().get(), "a second press keeps one mode chosen");
        assertTrue(((javafx.scene.control.ToggleButton) view.lookup("#ablation-mode-uniform")).isSelected());
        WaitForAsyncUtils.asyncFx(() -> vm.ablation().modeProperty().set(org.headscope.analysis.AblationMode.SCALE)).get();
        assertTrue(((javafx.scene.control.ToggleButton) view.lookup("#ablation-mode-scale")).isSelected(), "the mode selects its button");
        assertFalse(((javafx.scene.control.ToggleButton) view.lookup("#ablation-mode-uniform")).isSelected());
        WaitForAsyncUtils.asyncFx(() -> ((javafx.scene.control.ToggleButton) view.lookup("#scale-log")).fire()).get();
        assertEquals(org.headscope.app.attention.ColourScale.LOG, vm.attention().scaleProperty().get());
        WaitForAsyncUtils.asyncFx(() -> {
            view.selectPanel("Vision");
            view.applyCss();
            view.layout();
        }).get();
        var range = (org.controlsfx.control.RangeSlider) view.lookup("#layer-range");
        assertNotNull(range, "the Vision panel has the VHR layer range");
        int layers = vm.models().current().model().layers();
        assertEquals(layers - 1, range.getMax(), 0, "the slider spans the open model's layers");
        assertEquals(0, range.getLowValue(), 0, "-1 (the paper's default) is the first layer");
        assertEquals(layers - 1, range.getHighValue(), 0, "-1 is the last layer");
        var vision = vm.scan("Vision");
        WaitForAsyncUtils.asyncFx(() -> {
            range.setLowValue(1);
            range.setHighValue(layers - 2);
        }).get();
        assertEquals("1", vision.valueProperty("first_layer").get(), "the low thumb writes the first layer");
        assertEquals(Integer.toString(layers - 2), vision.valueProperty("last_layer").get(), "the high thumb writes the last layer");
        WaitForAsyncUtils.asyncFx(() -> range.setHighValue(layers - 1)).get();
        assertEquals("-1", vision.valueProperty("last_layer").get(), "the last layer is written as -1, every layer on any model");
        WaitForAsyncUtils.asyncFx(() -> vision.valueProperty("first_layer").set("0")).get();
        assertEquals(0, range.getLowValue(), 0, "a typed value moves the thumb");
        assertEquals("0", vm.scan("Ablation sweep").valueProperty("generate").get(), "the sweep generates nothing unless asked");
    }

    @Test
    void aDragAcrossTheKeyLabelsCropsTheMapAndItsExports() throws Exception {
        open(1366, 768, needleEpisode(512));
        HeatmapView hv = view.attentionView().heatmap();
        Node keys = view.lookup("#key-labels");
        assertFalse(view.lookup("#keys-all").isVisible(), "nothing to undo before a crop");
        int cell = hv.cellSize();
        // the labels move with the map when it scrolls
        double scrolled = ((javafx.scene.layout.Pane) keys).getChildren().getFirst().getTranslateX();
        // press over key 100, drag, release over key 163 (the labels are in line with the map's columns)
        WaitForAsyncUtils.asyncFx(() -> {
            for (var type : List.of(javafx.scene.input.MouseEvent.MOUSE_PRESSED, javafx.scene.input.MouseEvent.MOUSE_DRAGGED,
                    javafx.scene.input.MouseEvent.MOUSE_RELEASED)) {
                double x = (type == javafx.scene.input.MouseEvent.MOUSE_PRESSED ? 100 : 163) * cell + cell / 2.0 + scrolled;
                var at = keys.localToScene(x, 10);
                javafx.event.Event.fireEvent(keys, new javafx.scene.input.MouseEvent(type, at.getX(), at.getY(), 0, 0, javafx.scene.input.MouseButton.PRIMARY,
                        1, false, false, false, false, true, false, false, false, false, false, null));
            }
            view.applyCss();
            view.layout();
        }).get();
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(List.of(100, 163), java.util.Arrays.stream(vm.attention().keyRange()).boxed().toList(), "the drag chose keys 100 to 163");
        assertTrue(view.lookup("#keys-all").isVisible());
        assertTrue(hv.title().contains("keys 100\u2013163"), hv.title());
        // the 64 keys fill the map's width, the 512 queries its height
        int cx = hv.cellSize();
        int cy = hv.cellHeight();
        assertTrue(cx > cy, "wider cells for the cropped keys: " + cx + " x " + cy);
        assertEquals(64 * cx, hv.mapView().getImage().getWidth(), 0);
        assertEquals(512 * cy, hv.mapView().getImage().getHeight(), 0);
        // pixel read-back: column c is key 100 + c, masked after the query
        FloatTensor full = vm.attention().currentMap();
        Image img = WaitForAsyncUtils.asyncFx(() -> Png.snapshot(hv.mapView(), 1)).get();
        PixelReader px = img.getPixelReader();
        for (int q : new int[]{50, 120, 300, 511}) {
            for (int c = 0; c < 64; c += 9) {
                int argb = px.getArgb(c * cx + cx / 2, q * cy + cy / 2);
                if (100 + c > q) {
                    assertEquals(org.headscope.app.attention.HeatmapImages.MASKED, argb, "key " + (100 + c) + " after query " + q);
                } else {
                    assertEquals(full.get(q, 100 + c), Viridis.invert(argb & 0xffffff), COLOUR_TOLERANCE, "cell " + q + "," + (100 + c));
                }
            }
        }
        // the key labels name keys of the crop; the SVG export is cropped the same way
        assertTrue(hv.labelledTokens(100, 163, cx).stream().allMatch(t -> t >= 100 && t <= 163));
        String svg = WaitForAsyncUtils.asyncFx(view::mapSvg).get();
        var doc = org.headscope.app.attention.FiguresTest.parse(svg);
        assertTrue(org.headscope.app.attention.FiguresTest.texts(doc).contains(hv.title()), "the SVG has the cropped title");
        String[] tokens = vm.attention().runProperty().get().tokens().strings();
        assertTrue(org.headscope.app.attention.FiguresTest.texts(doc).contains(tokens[163]), "the crop's last key is labelled in the SVG");
        double[] fig = WaitForAsyncUtils.asyncFx(() -> {
            var f = Png.snapshot(hv.exportFigure(), 1);
            return new double[]{f.getWidth(), f.getHeight()};
        }).get();
        assertTrue(fig[0] >= 64 * cx + 74 && fig[0] < 512 * cx, "the exported figure is the crop: " + fig[0]);
        // Fit keeps the crop; All keys shows every key again
        WaitForAsyncUtils.asyncFx(() -> ((javafx.scene.control.Button) view.lookup("#keys-all")).fire()).get();
        assertFalse(vm.attention().keysCropped());
        assertEquals(hv.cellSize(), hv.cellHeight(), "square cells again");
    }
}

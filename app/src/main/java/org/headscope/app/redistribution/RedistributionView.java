package org.headscope.app.redistribution;

import java.util.Locale;

import javafx.beans.InvalidationListener;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.Slider;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.image.ImageView;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.headscope.analysis.Redistribution;
import org.headscope.app.attention.AttentionViewModel;
import org.headscope.app.attention.HeatmapImages;
import org.headscope.hooks.FloatTensor;

/**
 * The Redistribution panel: method, its sliders (released slider re-runs when live), the image key span for VAR and
 * PAI, the output change, the shown head's map before and after, and the next tokens that moved most.
 */
public final class RedistributionView extends VBox {
    private static final int MAP = 150;

    private final RedistributionViewModel vm;
    private final AttentionViewModel attention;
    private final GridPane sliders = new GridPane();
    private final ImageView before = new ImageView();
    private final ImageView after = new ImageView();
    private final ImageView change = new ImageView();
    private final Label scaleLabel = new Label();
    private double[] shared = {0, 1};
    private double changeMax;
    private final Label summary = new Label("Press Run to compare the prompt before and after.");
    private final Label notes = new Label();
    private final Label mapTitle = new Label();
    private final TableView<Redistribution.TokenShift> tokens = new TableView<>();

    public RedistributionView(RedistributionViewModel vm, AttentionViewModel attention,
                              java.util.function.Consumer<org.headscope.app.util.Message> messages) {
        super(6);
        this.vm = vm;
        this.attention = attention;
        setId("panel-redistribution");
        setPadding(new Insets(8));
        ChoiceBox<RedistributionMethod> method = new ChoiceBox<>(FXCollections.observableArrayList(RedistributionMethod.values()));
        method.setId("redistribution-method");
        method.valueProperty().bindBidirectional(vm.methodProperty());
        CheckBox live = new CheckBox("live");
        live.setId("redistribution-live");
        live.selectedProperty().bindBidirectional(vm.liveProperty());
        Button run = new Button("Run");
        run.setId("redistribution-run");
        run.setOnAction(e -> vm.run(attention.promptProperty().get(), attention.imagePathProperty().get()));
        TextField span = new TextField();
        span.setId("redistribution-span");
        span.setPromptText("START:END");
        span.setPrefColumnCount(7);
        span.textProperty().bindBidirectional(vm.imageSpanProperty());
        span.disableProperty().bind(Bindings.createBooleanBinding(() -> !vm.methodProperty().get().needsImageSpan(), vm.methodProperty()));
        Button export = new Button("Export report\u2026");
        export.setId("redistribution-export");
        export.disableProperty().bind(vm.resultProperty().isNull());
        export.setOnAction(e -> {
            javafx.stage.DirectoryChooser dc = new javafx.stage.DirectoryChooser();
            dc.setTitle("Folder for the redistribution report (JSON, CSV, HTML)");
            java.io.File dir = dc.showDialog(getScene().getWindow());
            if (dir != null) {
                try {
                    messages.accept(org.headscope.app.util.Message.info("Wrote " + vm.export(dir.toPath())));
                } catch (java.io.IOException | RuntimeException ex) {
                    messages.accept(org.headscope.app.util.Message.of("Writing the report", ex));
                }
            }
        });
        HBox top = new HBox(6, new Label("Method"), method, run, live, new Label("image keys"), span, export);
        top.setAlignment(Pos.CENTER_LEFT);
        sliders.setHgap(6);
        sliders.setVgap(2);
        summary.setId("redistribution-summary");
        summary.setWrapText(true);
        notes.setId("redistribution-notes");
        notes.setWrapText(true);
        before.setSmooth(false);
        after.setSmooth(false);
        before.setId("redistribution-before");
        after.setId("redistribution-after");
        for (ImageView iv : new ImageView[]{before, after, change}) {
            iv.setPreserveRatio(true);
        }
        change.setSmooth(false);
        change.setId("redistribution-change");
        scaleLabel.setId("redistribution-scale");
        scaleLabel.setWrapText(true);
        scaleLabel.getStyleClass().add("default-value");
        HBox maps = new HBox(10, new VBox(2, new Label("before"), before), new VBox(2, new Label("after"), after),
                new VBox(2, new Label("after − before"), change));
        tokens.setId("redistribution-tokens");
        tokens.setPrefHeight(140);
        tokens.getColumns().add(column("next token", t -> t.text()));
        tokens.getColumns().add(column("before", t -> String.format(Locale.ROOT, "%.4f", t.before())));
        tokens.getColumns().add(column("after", t -> String.format(Locale.ROOT, "%.4f", t.after())));
        tokens.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        tokens.setPlaceholder(new Label("Next-token shifts appear here for decoders."));
        getChildren().addAll(top, sliders, summary, notes, mapTitle, maps, scaleLabel, tokens);
        vm.methodProperty().addListener((o, a, b) -> {
            buildSliders();
            vm.rerunIfLive();
        });
        InvalidationListener redraw = o -> showResult();
        vm.resultProperty().addListener(redraw);
        attention.layerProperty().addListener(redraw);
        attention.headProperty().addListener(redraw);
        attention.scaleProperty().addListener(redraw);
        buildSliders();
        showResult();
    }

    private void buildSliders() {
        sliders.getChildren().clear();
        RedistributionMethod m = vm.methodProperty().get();
        int row = 0;
        for (RedistributionMethod.Slider s : m.sliders()) {
            Slider slider = new Slider(s.min(), s.max(), vm.valueProperty(m, s.key()).get());
            slider.setId("redistribution-" + s.key());
            slider.setPrefWidth(220);
            slider.valueProperty().bindBidirectional(vm.valueProperty(m, s.key()));
            slider.valueChangingProperty().addListener((o, was, now) -> {
                if (!now) {
                    vm.rerunIfLive();
                }
            });
            slider.setOnMouseReleased(e -> {
                if (!slider.isValueChanging()) {
                    vm.rerunIfLive();
                }
            });
            Label value = new Label();
            value.textProperty().bind(Bindings.format(Locale.ROOT, "%.2f", vm.valueProperty(m, s.key())));
            Label def = new Label(String.format(Locale.ROOT, "default %.2f", s.defaultValue()));
            def.getStyleClass().add("default-value");
            sliders.addRow(row++, new Label(s.label()), slider, value, def);
        }
        for (RedistributionMethod.Choice c : m.choices()) {
            javafx.scene.control.ComboBox<String> box = new javafx.scene.control.ComboBox<>(
                    javafx.collections.FXCollections.observableArrayList(c.options()));
            box.setId("redistribution-" + c.key());
            box.valueProperty().bindBidirectional(vm.choiceProperty(m, c.key()));
            box.setOnAction(e -> vm.rerunIfLive());
            Label def = new Label("code: " + c.defaultValue());
            def.getStyleClass().add("default-value");
            sliders.addRow(row++, new Label(c.label()), box, new Label(), def);
        }
    }

    private void showResult() {
        Redistribution.Result r = vm.resultProperty().get();
        if (r == null) {
            before.setImage(null);
            after.setImage(null);
            change.setImage(null);
            tokens.getItems().clear();
            mapTitle.setText("");
            notes.setText("");
            scaleLabel.setText("");
            summary.setText("Press Run to compare the prompt before and after.");
            return;
        }
        notes.setText(notesText(r));
        summary.setText(String.format(Locale.ROOT, "%s: %d heads edited; %s", r.method().id(), r.selected().size(),
                Double.isNaN(r.kl()) ? String.format(Locale.ROOT, "output cosine distance %.6f", r.cosine())
                        : String.format(Locale.ROOT, "next-token KL %.6f nats", r.kl())));
        int l = Math.min(attention.layerProperty().get(), r.before().size() - 1);
        int h = attention.headProperty().get();
        FloatTensor b = r.before().get(l).slice(h);
        FloatTensor a = r.after().get(l).slice(h);
        int cell = Math.max(1, MAP / Math.max(b.dim(0), b.dim(1)));
        boolean causal = attention.runProperty().get() != null && attention.runProperty().get().causal();
        // long maps (more tokens than the thumbnail has pixels) are shown shrunk to the thumbnail
        double fit = Math.max(b.dim(0), b.dim(1)) * cell > MAP ? MAP : 0;
        for (ImageView iv : new ImageView[]{before, after, change}) {
            iv.setFitWidth(fit);
            iv.setFitHeight(fit);
        }
        // one colour scale for both maps, so the same colour is the same probability before and after
        shared = new double[]{0, Math.max(1e-6, HeatmapImages.max(b, a))};
        before.setImage(HeatmapImages.renderRange(b, cell, shared[0], shared[1], causal));
        after.setImage(HeatmapImages.renderRange(a, cell, shared[0], shared[1], causal));
        float[] diff = new float[a.data().length];
        changeMax = 0;
        for (int i = 0; i < diff.length; i++) {
            diff[i] = a.data()[i] - b.data()[i];
            changeMax = Math.max(changeMax, Math.abs(diff[i]));
        }
        change.setImage(HeatmapImages.renderSigned(new FloatTensor(a.shape(), diff), cell, changeMax, causal));
        scaleLabel.setText(String.format(Locale.ROOT, "before and after share one scale: viridis from 0 to %.3f (the larger maximum "
                + "of the two); the change is blue where attention fell, red where it rose, white at 0 (±%.3f)", shared[1], changeMax));
        mapTitle.setText("layer " + l + ", head " + h + " (pick another in the grid)");
        tokens.getItems().setAll(r.topTokens());
    }

    /** The [min, max] of the colour scale both the before and the after map use. */
    public double[] sharedRange() {
        return shared.clone();
    }

    /** The largest |after - before| of the change map (its diverging scale runs from minus this to plus this). */
    public double changeRange() {
        return changeMax;
    }

    /** What the method selected nothing of (with the largest value and the threshold that would select it), then the departures. */
    static String notesText(Redistribution.Result r) {
        StringBuilder sb = new StringBuilder();
        r.selectionNotes().forEach(n -> sb.append(sb.isEmpty() ? "" : "\n").append("Selected nothing: ").append(n));
        if (!r.departures().isEmpty()) {
            sb.append(sb.isEmpty() ? "" : "\n").append("Departures from the paper's code:");
            r.departures().forEach(d -> sb.append("\n- ").append(d));
        }
        return sb.toString();
    }

    private static TableColumn<Redistribution.TokenShift, String> column(String name,
                                                                       java.util.function.Function<Redistribution.TokenShift, String> f) {
        TableColumn<Redistribution.TokenShift, String> c = new TableColumn<>(name);
        c.setCellValueFactory(d -> new ReadOnlyStringWrapper(f.apply(d.getValue())));
        c.setSortable(false);
        return c;
    }
}

package org.headscope.app.attention;

import java.io.File;
import java.util.Locale;

import javafx.beans.InvalidationListener;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.image.Image;
import javafx.scene.image.ImageView;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import org.headscope.analysis.core.Input;
import org.headscope.hooks.FloatTensor;

/**
 * For vision-language models: the prompt's image, and over it, translucent (opacity slider), the shown head's attention
 * from one query to each image patch (the hovered text token, else the last token). The colours are on one scale shared
 * by every head of the run for that query (0 to the largest patch attention of any head), with a colour bar, so two
 * heads can be compared by colour; the label gives the query and the total attention on the image.
 */
public final class ImagePane extends VBox {
    static final int SIZE = 150;

    private final AttentionViewModel vm;
    private final ImageView image = new ImageView();
    private final ImageView overlay = new ImageView();
    private final Label caption = new Label();
    private final javafx.scene.control.Slider opacity = new javafx.scene.control.Slider(0, 1, 0.5);
    private final javafx.scene.canvas.Canvas bar = new javafx.scene.canvas.Canvas(SIZE, 30);
    private double scaleMax = 1;

    public ImagePane(AttentionViewModel vm) {
        super(4);
        this.vm = vm;
        setId("image-pane");
        setAlignment(Pos.TOP_CENTER);
        image.setFitWidth(SIZE);
        image.setFitHeight(SIZE);
        overlay.setId("image-attention");
        overlay.setSmooth(false);
        opacity.setId("overlay-opacity");
        opacity.setPrefWidth(SIZE - 50);
        overlay.opacityProperty().bind(opacity.valueProperty());
        bar.setId("image-colour-bar");
        StackPane stack = new StackPane(image, overlay);
        stack.setMinSize(SIZE, SIZE);
        stack.setMaxSize(SIZE, SIZE);
        stack.getStyleClass().add("image-stack");
        Button choose = new Button("Image\u2026");
        choose.setId("choose-image");
        choose.setOnAction(e -> {
            FileChooser fc = new FileChooser();
            fc.setTitle("Image for the prompt");
            fc.getExtensionFilters().add(new FileChooser.ExtensionFilter("Images", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.bmp"));
            File f = fc.showOpenDialog(getScene().getWindow());
            if (f != null) {
                vm.imagePathProperty().set(f.getPath());
                vm.run();
            }
        });
        caption.setId("image-caption");
        caption.setWrapText(true);
        caption.setMaxWidth(SIZE + 30);
        javafx.scene.layout.HBox opacityRow = new javafx.scene.layout.HBox(4, new Label("overlay"), opacity);
        opacityRow.setAlignment(Pos.CENTER_LEFT);
        javafx.scene.layout.VBox side = new javafx.scene.layout.VBox(4, choose, opacityRow, bar, caption);
        side.setMaxWidth(SIZE + 30);
        javafx.scene.layout.HBox row = new javafx.scene.layout.HBox(8, stack, side);
        getChildren().add(row);
        vm.imagePathProperty().addListener(o -> {
            String p = vm.imagePathProperty().get();
            image.setImage(p == null || p.isBlank() || !org.headscope.app.util.SafeImages.decodable(p) ? null
                    : new Image(new File(p).toURI().toString(), SIZE, SIZE, false, true));
        });
        InvalidationListener redraw = o -> redraw();
        vm.runProperty().addListener(redraw);
        vm.layerProperty().addListener(redraw);
        vm.headProperty().addListener(redraw);
        vm.hoveredTokenProperty().addListener(redraw);
        vm.showAblatedProperty().addListener(redraw);
        redraw();
    }

    /** The query whose attention is painted: the hovered token when it comes after the image, else the last. */
    public int query() {
        AttentionRun r = vm.runProperty().get();
        int last = r.tokens().size() - 1;
        int hovered = vm.hoveredTokenProperty().get();
        return hovered >= r.patches().end() && hovered <= last ? hovered : last;
    }

    /** Attention from {@link #query()} to each patch, [rows, cols]. */
    public FloatTensor patchAttention() {
        AttentionRun r = vm.runProperty().get();
        Input.ImagePatches p = r.patches();
        FloatTensor map = vm.currentMap();
        int q = query();
        float[] a = new float[p.count()];
        for (int i = 0; i < a.length; i++) {
            a[i] = map.get(q, p.start() + i);
        }
        return new FloatTensor(new long[]{p.rows(), p.cols()}, a);
    }

    /** The top of the overlay's colour scale: the largest attention from the query to a patch over every head of the run. */
    public double scaleMax() {
        return scaleMax;
    }

    private double sharedMax() {
        AttentionRun r = vm.runProperty().get();
        Input.ImagePatches p = r.patches();
        int q = query();
        boolean after = vm.showAblatedProperty().get();
        double m = 0;
        for (int l = 0; l < r.layers(); l++) {
            for (int h = 0; h < r.heads(); h++) {
                FloatTensor map = r.map(l, h, after);
                for (int i = p.start(); i < p.end(); i++) {
                    m = Math.max(m, map.get(q, i));
                }
            }
        }
        return m > 0 ? m : 1;
    }

    private void drawBar() {
        var g = bar.getGraphicsContext2D();
        g.clearRect(0, 0, bar.getWidth(), bar.getHeight());
        double w = SIZE - 20;
        for (int x = 0; x < w; x++) {
            int rgb = org.headscope.analysis.report.Viridis.rgb(x / (w - 1));
            g.setFill(javafx.scene.paint.Color.rgb((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff));
            g.fillRect(10 + x, 2, 1, 8);
        }
        g.setFill(javafx.scene.paint.Color.web("#333"));
        g.setFont(javafx.scene.text.Font.font(9));
        g.setTextAlign(javafx.scene.text.TextAlignment.LEFT);
        g.fillText("0", 10, 20);
        g.setTextAlign(javafx.scene.text.TextAlignment.RIGHT);
        g.fillText(String.format(Locale.ROOT, "%.3f", scaleMax), 10 + w, 20);
        g.setTextAlign(javafx.scene.text.TextAlignment.CENTER);
        g.fillText("attention, shared over heads", 10 + w / 2, 29);
    }

    private void redraw() {
        AttentionRun r = vm.runProperty().get();
        boolean show = r != null && r.patches() != null;
        overlay.setImage(null);
        caption.setText(r == null || show ? "" : "No image: choose one to see the heads' attention over its patches.");
        if (!show) {
            bar.getGraphicsContext2D().clearRect(0, 0, bar.getWidth(), bar.getHeight());
            return;
        }
        FloatTensor a = patchAttention();
        float max = 0;
        double total = 0;
        for (float v : a.data()) {
            max = Math.max(max, v);
            total += v;
        }
        scaleMax = sharedMax();
        float[] scaled = a.data().clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] = (float) Math.min(1, scaled[i] / scaleMax);
        }
        drawBar();
        int cell = Math.max(1, SIZE / Math.max(a.dim(0), a.dim(1)));
        overlay.setImage(HeatmapImages.render(new FloatTensor(a.shape(), scaled), cell, ColourScale.LINEAR, false));
        overlay.setFitWidth(SIZE);
        overlay.setFitHeight(SIZE);
        caption.setText(String.format(Locale.ROOT, "L%d H%d: '%s' puts %.3f on the image (brightest patch %.3f)",
                vm.layerProperty().get(), vm.headProperty().get(), r.tokens().strings()[query()], total, max));
    }
}

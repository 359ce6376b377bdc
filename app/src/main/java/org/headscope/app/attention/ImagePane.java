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
import org.headscope.hooks.FloatTensor;

/**
 * For vision-language models: the prompt's image, and over it the shown head's attention from one query to each
 * image patch (the hovered text token, else the last token), scaled to the largest patch so the pattern is visible
 * whatever the total; the label gives the query and the total attention on the image.
 */
public final class ImagePane extends VBox {
    static final int SIZE = 176;

    private final AttentionViewModel vm;
    private final ImageView image = new ImageView();
    private final ImageView overlay = new ImageView();
    private final Label caption = new Label();

    public ImagePane(AttentionViewModel vm) {
        super(4);
        this.vm = vm;
        setId("image-pane");
        setAlignment(Pos.TOP_CENTER);
        image.setFitWidth(SIZE);
        image.setFitHeight(SIZE);
        overlay.setId("image-attention");
        overlay.setSmooth(false);
        overlay.setOpacity(0.7);
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
        caption.setMaxWidth(SIZE);
        getChildren().addAll(choose, stack, caption);
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
        PromptInput.ImagePatches p = r.patches();
        FloatTensor map = vm.currentMap();
        int q = query();
        float[] a = new float[p.count()];
        for (int i = 0; i < a.length; i++) {
            a[i] = map.get(q, p.start() + i);
        }
        return new FloatTensor(new long[]{p.rows(), p.cols()}, a);
    }

    private void redraw() {
        AttentionRun r = vm.runProperty().get();
        boolean show = r != null && r.patches() != null;
        overlay.setImage(null);
        caption.setText(r == null || show ? "" : "No image: choose one to see the heads' attention over its patches.");
        if (!show) {
            return;
        }
        FloatTensor a = patchAttention();
        float max = 0;
        double total = 0;
        for (float v : a.data()) {
            max = Math.max(max, v);
            total += v;
        }
        float[] scaled = a.data().clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] = max > 0 ? scaled[i] / max : 0;
        }
        int cell = Math.max(1, SIZE / Math.max(a.dim(0), a.dim(1)));
        overlay.setImage(HeatmapImages.render(new FloatTensor(a.shape(), scaled), cell, ColourScale.LINEAR, false));
        overlay.setFitWidth(SIZE);
        overlay.setFitHeight(SIZE);
        caption.setText(String.format(Locale.ROOT, "L%d H%d: '%s' puts %.3f on the image (brightest patch %.3f)",
                vm.layerProperty().get(), vm.headProperty().get(), r.tokens().strings()[query()], total, max));
    }
}

package org.headscope.app.workbench;

import org.headscope.app.export.ContactSheet;
import org.headscope.app.export.Png;
import org.headscope.app.export.Pdf;
import org.headscope.app.export.Svg;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

import javafx.scene.Node;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuItem;
import javafx.scene.control.SeparatorMenuItem;
import javafx.stage.FileChooser;
import org.headscope.app.attention.AttentionRun;
import org.headscope.app.util.Message;

/** The Session and Export menus: session files, figures as PNG at 1x or 2x, and a layer's contact sheet. */
public final class ExportMenu {
    private final WorkbenchView view;
    private final WorkbenchViewModel vm;

    public ExportMenu(WorkbenchView view) {
        this.view = view;
        this.vm = view.viewModel();
    }

    public Menu session() {
        Menu m = new Menu("Session");
        MenuItem open = new MenuItem("Open session\u2026");
        open.setOnAction(e -> {
            File f = chooser("Open a session", "session.headscope.json").showOpenDialog(view.getScene().getWindow());
            if (f != null) {
                try {
                    vm.restore(SessionFile.read(f.toPath()));
                } catch (IOException | RuntimeException ex) {
                    vm.messageProperty().set(Message.of("Opening the session", ex));
                }
            }
        });
        MenuItem save = new MenuItem("Save session\u2026");
        save.setOnAction(e -> saveTo("Save the session", "session.headscope.json", p -> vm.capture().write(p)));
        m.getItems().addAll(open, save);
        return m;
    }

    public Menu export() {
        Menu m = new Menu("Export");
        m.getItems().addAll(
                png("Attention map as PNG (1x)\u2026", "attention-map.png", () -> view.attentionView().heatmap().exportFigure(), 1),
                png("Attention map as PNG (2x)\u2026", "attention-map@2x.png", () -> view.attentionView().heatmap().exportFigure(), 2),
                png("Attention map as PNG (4x)\u2026", "attention-map@4x.png", () -> view.attentionView().heatmap().exportFigure(), 4),
                svg("Attention map as SVG\u2026", "attention-map.svg", view::mapSvg),
                svg("Head scores heat map as SVG\u2026", "head-scores.svg", view::scoresSvg),
                svg("Panel plot as SVG\u2026", "plot.svg", view::plotSvg),
                pdf("Attention map as PDF\u2026", "attention-map.pdf", view::mapSvg),
                pdf("Head scores heat map as PDF\u2026", "head-scores.pdf", view::scoresSvg),
                pdf("Panel plot as PDF\u2026", "plot.pdf", view::plotSvg),
                png("Head grid as PNG (1x)\u2026", "head-grid.png", view::grid, 1),
                png("Head grid as PNG (2x)\u2026", "head-grid@2x.png", view::grid, 2),
                new SeparatorMenuItem(),
                png("Contact sheet of the layer (1x)\u2026", "contact-sheet.png", this::contactSheet, 1),
                png("Contact sheet of the layer (2x)\u2026", "contact-sheet@2x.png", this::contactSheet, 2),
                new SeparatorMenuItem(),
                png("Window as PNG\u2026", "workbench.png", () -> view, 1));
        return m;
    }

    private Node contactSheet() {
        AttentionRun run = vm.attention().runProperty().get();
        if (run == null) {
            throw new IllegalStateException("nothing has run yet");
        }
        return ContactSheet.build(run, vm.attention().layerProperty().get(), vm.attention().scaleProperty().get(),
                vm.attention().showAblatedProperty().get());
    }

    private MenuItem svg(String title, String name, Supplier<String> figure) {
        MenuItem item = new MenuItem(title);
        item.setOnAction(e -> saveTo(title, name, p -> Svg.write(figure.get(), p)));
        return item;
    }

    private MenuItem pdf(String title, String name, Supplier<String> figure) {
        MenuItem item = new MenuItem(title);
        item.setOnAction(e -> saveTo(title, name, p -> Pdf.write(figure.get(), p)));
        return item;
    }

    private MenuItem png(String title, String name, Supplier<Node> figure, double scale) {
        MenuItem item = new MenuItem(title);
        item.setOnAction(e -> saveTo(title, name, p -> Png.write(figure.get(), scale, p)));
        return item;
    }

    @FunctionalInterface
    private interface Writer {
        Path write(Path file) throws IOException;
    }

    private void saveTo(String title, String name, Writer writer) {
        File f = chooser(title.replace("\u2026", ""), name).showSaveDialog(view.getScene().getWindow());
        if (f == null) {
            return;
        }
        vm.settings().put("exportFolder", f.getAbsoluteFile().getParent());
        try {
            vm.messageProperty().set(Message.info("Wrote " + writer.write(f.toPath())));
        } catch (IOException | RuntimeException ex) {
            vm.messageProperty().set(Message.of("Writing " + f.getName(), ex));
        }
    }

    private FileChooser chooser(String title, String name) {
        FileChooser fc = new FileChooser();
        fc.setTitle(title);
        fc.setInitialFileName(name);
        String last = vm.settings().string("exportFolder", null);
        if (last != null && new File(last).isDirectory()) {
            fc.setInitialDirectory(new File(last));
        }
        return fc;
    }
}

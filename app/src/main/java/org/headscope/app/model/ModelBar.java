package org.headscope.app.model;

import java.io.File;
import java.util.function.Consumer;

import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Label;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuItem;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.HBox;
import javafx.stage.DirectoryChooser;
import javafx.stage.FileChooser;
import javafx.stage.Window;

/**
 * The model menu (open a file or folder, bundled samples, recent models) and the bar under it: model name,
 * device with the reason as tooltip, and the head layout.
 */
public final class ModelBar extends HBox {
    private final ModelViewModel vm;
    private final Consumer<String> open;
    private final Menu menu = new Menu("Model");
    private final Menu recentMenu = new Menu("Recent");

    /** {@code open} opens a bundled name or a path (and runs the prompt afterwards). */
    public ModelBar(ModelViewModel vm, Consumer<String> open) {
        super(14);
        this.vm = vm;
        this.open = open;
        setId("model-bar");
        getStyleClass().add("model-bar");
        setAlignment(Pos.CENTER_LEFT);
        setPadding(new Insets(4, 8, 4, 8));
        Label title = new Label();
        title.setId("model-name");
        title.getStyleClass().add("model-name");
        title.textProperty().bind(vm.titleProperty());
        Label device = new Label();
        device.setId("model-device");
        device.getStyleClass().add("device");
        device.textProperty().bind(vm.deviceProperty().concat(" \u2014 ").concat(vm.deviceReasonProperty()));
        Tooltip tip = new Tooltip();
        tip.textProperty().bind(vm.deviceReasonProperty());
        device.setTooltip(tip);
        device.setMaxWidth(420);
        Label facts = new Label();
        facts.setId("model-facts");
        facts.textProperty().bind(vm.factsProperty());
        getChildren().addAll(title, facts, device);
        buildMenu();
        vm.recent().addListener((ListChangeListener<String>) c -> rebuildRecent());
        rebuildRecent();
    }

    /** The Model menu for the window's menu bar. */
    public Menu menu() {
        return menu;
    }

    private void buildMenu() {
        MenuItem file = new MenuItem("Open model file\u2026");
        file.setOnAction(e -> {
            FileChooser fc = new FileChooser();
            fc.setTitle("Open an ONNX model");
            fc.getExtensionFilters().add(new FileChooser.ExtensionFilter("ONNX models", "*.onnx"));
            File f = fc.showOpenDialog(window());
            if (f != null) {
                open.accept(f.getPath());
            }
        });
        MenuItem folder = new MenuItem("Open model folder\u2026");
        folder.setOnAction(e -> {
            DirectoryChooser dc = new DirectoryChooser();
            dc.setTitle("Open a model folder (with headscope.json)");
            File f = dc.showDialog(window());
            if (f != null) {
                open.accept(f.getPath());
            }
        });
        Menu bundled = new Menu("Bundled samples");
        for (String name : vm.bundled()) {
            MenuItem item = new MenuItem(name);
            item.setId("bundled-" + name);
            item.setOnAction(e -> open.accept(name));
            bundled.getItems().add(item);
        }
        menu.getItems().addAll(file, folder, bundled, recentMenu);
    }

    private void rebuildRecent() {
        recentMenu.getItems().clear();
        for (String path : vm.recent()) {
            MenuItem item = new MenuItem(path);
            item.setOnAction(e -> open.accept(path));
            recentMenu.getItems().add(item);
        }
        recentMenu.setDisable(vm.recent().isEmpty());
    }

    private Window window() {
        return getScene() == null ? null : getScene().getWindow();
    }
}

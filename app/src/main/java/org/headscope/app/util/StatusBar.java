package org.headscope.app.util;

import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;

/** What the background worker is doing, its progress, and Cancel. */
public final class StatusBar extends HBox {
    public StatusBar(TaskExecutor executor) {
        super(8);
        setId("status-bar");
        getStyleClass().add("status-bar");
        setAlignment(Pos.CENTER_LEFT);
        setPadding(new Insets(3, 8, 3, 8));
        ProgressBar bar = new ProgressBar();
        bar.setId("progress");
        bar.setPrefWidth(160);
        bar.progressProperty().bind(executor.progressProperty());
        bar.visibleProperty().bind(executor.busyProperty());
        bar.managedProperty().bind(bar.visibleProperty());
        Label text = new Label();
        text.setId("status-text");
        text.textProperty().bind(Bindings.when(executor.busyProperty()).then(executor.messageProperty()).otherwise("Ready"));
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        Button cancel = new Button("Cancel");
        cancel.setId("cancel");
        cancel.disableProperty().bind(executor.busyProperty().not());
        cancel.setOnAction(e -> executor.cancelAll());
        getChildren().addAll(bar, text, grow, cancel);
    }
}

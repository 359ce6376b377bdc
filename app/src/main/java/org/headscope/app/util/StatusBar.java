package org.headscope.app.util;

import javafx.beans.binding.Bindings;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;

/**
 * What the background worker is doing, its progress, and Cancel: ControlsFX's status bar, whose text and progress
 * follow the task executor; the progress bar and the status text keep their ids for tests and styling.
 */
public final class StatusBar extends org.controlsfx.control.StatusBar {
    public StatusBar(TaskExecutor executor) {
        setId("status-bar");
        getStyleClass().add("status-bar");
        // ControlsFX draws its own text and progress; the labelled copies below carry the ids the workbench looks up
        setText("");
        ProgressBar bar = new ProgressBar();
        bar.setId("progress");
        bar.setPrefWidth(160);
        bar.progressProperty().bind(executor.progressProperty());
        bar.visibleProperty().bind(executor.busyProperty());
        bar.managedProperty().bind(bar.visibleProperty());
        Label text = new Label();
        text.setId("status-text");
        text.textProperty().bind(Bindings.when(executor.busyProperty()).then(executor.messageProperty()).otherwise("Ready"));
        Button cancel = new Button("Cancel");
        cancel.setId("cancel");
        cancel.disableProperty().bind(executor.busyProperty().not());
        cancel.setOnAction(e -> executor.cancelAll());
        getLeftItems().addAll(bar, text);
        getRightItems().add(cancel);
    }
}

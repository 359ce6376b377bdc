package org.headscope.app;

import javafx.application.Application;
import javafx.stage.Stage;

/** The JavaFX application. */
public final class Workbench extends Application {
    @Override
    public void start(Stage stage) {
        throw new UnsupportedOperationException("workbench under construction");
    }
}

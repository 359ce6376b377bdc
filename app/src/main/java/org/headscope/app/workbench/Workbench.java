package org.headscope.app.workbench;

import javafx.application.Application;
import javafx.scene.Scene;
import javafx.stage.Stage;
import org.headscope.app.util.FxTaskExecutor;
import org.headscope.app.util.Settings;

/** The JavaFX application: opens the last (or the bundled default) model and runs the prompt on start. */
public final class Workbench extends Application {
    private WorkbenchViewModel vm;
    private Stage stage;

    @Override
    public void start(Stage stage) {
        this.stage = stage;
        vm = new WorkbenchViewModel(new FxTaskExecutor(), Settings.load().deferWrites());
        show(stage, vm);
        fitToScreen(stage, javafx.stage.Screen.getPrimary().getVisualBounds());
        String model = modelArgument(getParameters().getRaw());
        if (model == null) {
            vm.start();
        } else {
            vm.open(model);
        }
    }

    /** The value of {@code --model PATH} or {@code --model=PATH} on the command line, or null. */
    static String modelArgument(java.util.List<String> raw) {
        for (int i = 0; i < raw.size(); i++) {
            String a = raw.get(i);
            if (a.startsWith("--model=")) {
                return a.substring("--model=".length());
            }
            if (a.equals("--model") && i + 1 < raw.size()) {
                return raw.get(i + 1);
            }
        }
        return null;
    }

    /**
     * Keeps the window on the screen: a remembered size larger than the screen's usable area is cut to it, and on a
     * screen smaller than 1366 x 800 the window opens maximised.
     */
    static void fitToScreen(Stage stage, javafx.geometry.Rectangle2D screen) {
        if (screen.getWidth() < 1366 || screen.getHeight() < 800) {
            // the usable area first (a window manager that does not maximise still gets a window that fits), then maximised
            stage.setX(screen.getMinX());
            stage.setY(screen.getMinY());
            stage.setWidth(screen.getWidth());
            stage.setHeight(screen.getHeight());
            stage.setMaximized(true);
            return;
        }
        stage.setWidth(Math.min(stage.getWidth(), screen.getWidth()));
        stage.setHeight(Math.min(stage.getHeight(), screen.getHeight()));
        stage.setX(screen.getMinX() + Math.max(0, (screen.getWidth() - stage.getWidth()) / 2));
        stage.setY(screen.getMinY() + Math.max(0, (screen.getHeight() - stage.getHeight()) / 2));
    }

    /** Puts a workbench for this view model on the stage (also used by tests and the screenshot command). */
    public static WorkbenchView show(Stage stage, WorkbenchViewModel vm) {
        WorkbenchView view = new WorkbenchView(vm);
        Scene scene = new Scene(view, vm.settings().number("width", 1360), vm.settings().number("height", 860));
        scene.getStylesheets().add(Workbench.class.getResource("workbench.css").toExternalForm());
        stage.setScene(scene);
        stage.setTitle("HeadScope");
        stage.show();
        return view;
    }

    @Override
    public void stop() {
        if (vm != null) {
            vm.settings().put("width", stage.getWidth());
            vm.settings().put("height", stage.getHeight());
            vm.close();
        }
    }
}

package org.headscope.app.util;

import javafx.beans.property.ObjectProperty;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;

/** The message area: the last problem and what to do about it, until dismissed. */
public final class MessageBar extends HBox {
    public MessageBar(ObjectProperty<Message> message) {
        super(8);
        setId("message-bar");
        setAlignment(Pos.CENTER_LEFT);
        setPadding(new Insets(4, 8, 4, 8));
        Label problem = new Label();
        problem.setId("message-problem");
        problem.setWrapText(true);
        Label fix = new Label();
        fix.setId("message-fix");
        fix.setWrapText(true);
        VBox text = new VBox(2, problem, fix);
        HBox.setHgrow(text, Priority.ALWAYS);
        Button close = new Button("\u00d7");
        close.setOnAction(e -> message.set(null));
        getChildren().addAll(text, close);
        message.addListener((o, a, m) -> {
            setVisible(m != null);
            setManaged(m != null);
            problem.setText(m == null ? "" : m.problem());
            fix.setText(m == null || m.fix().isBlank() ? "" : "What to do: " + m.fix());
            fix.setVisible(m != null && !m.fix().isBlank());
            fix.setManaged(fix.isVisible());
            getStyleClass().setAll("message-bar", m != null && m.error() ? "error" : "info");
        });
        setVisible(false);
        setManaged(false);
    }
}

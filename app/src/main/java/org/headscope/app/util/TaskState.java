package org.headscope.app.util;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

/** The busy/progress/message properties both executors expose, written only on the owning thread. */
final class TaskState {
    final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(false);
    final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(0);
    final ReadOnlyStringWrapper message = new ReadOnlyStringWrapper("");

    void start(String title) {
        busy.set(true);
        progress.set(-1);
        message.set(title);
    }

    void update(long done, long total, String text) {
        progress.set(total <= 0 ? -1 : Math.min(1.0, done / (double) total));
        if (text != null && !text.isBlank()) {
            message.set(text);
        }
    }

    void idle() {
        busy.set(false);
        progress.set(0);
        message.set("");
    }

    ReadOnlyBooleanProperty busy() {
        return busy.getReadOnlyProperty();
    }

    ReadOnlyDoubleProperty progress() {
        return progress.getReadOnlyProperty();
    }

    ReadOnlyStringProperty message() {
        return message.getReadOnlyProperty();
    }
}

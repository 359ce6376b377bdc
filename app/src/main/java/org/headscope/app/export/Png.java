package org.headscope.app.export;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javafx.embed.swing.SwingFXUtils;
import javafx.scene.Node;
import javafx.scene.SnapshotParameters;
import javafx.scene.image.WritableImage;
import javafx.scene.paint.Color;
import javafx.scene.transform.Transform;
import javax.imageio.ImageIO;

/** Writes a node as a PNG at a pixel scale (1 for screen size, 2 for print). Call on the FX thread. */
public final class Png {
    private Png() {
    }

    /** Renders the node at the given scale. */
    public static WritableImage snapshot(Node node, double scale) {
        SnapshotParameters p = new SnapshotParameters();
        p.setTransform(Transform.scale(scale, scale));
        p.setFill(Color.WHITE);
        return node.snapshot(p, null);
    }

    public static Path write(Node node, double scale, Path file) throws IOException {
        return write(snapshot(node, scale), file);
    }

    public static Path write(WritableImage image, Path file) throws IOException {
        BufferedImage bi = SwingFXUtils.fromFXImage(image, null);
        BufferedImage rgb = new BufferedImage(bi.getWidth(), bi.getHeight(), BufferedImage.TYPE_INT_RGB);
        rgb.getGraphics().drawImage(bi, 0, 0, null);
        try (org.headscope.analysis.report.OutputTarget target = org.headscope.analysis.report.OutputTarget.file(file)) {
            target.writeFile(o -> {
                if (!ImageIO.write(rgb, "png", o)) {
                    throw new IOException("no PNG writer available");
                }
            });
        }
        return file;
    }
}

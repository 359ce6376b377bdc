package org.headscope.app.util;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Reads a user's image with its size checked from the header before any pixel is decoded, so a small file that
 * declares a huge image (a decompression bomb) or a broken header is refused with a reason instead of exhausting
 * memory or failing deep inside the decoder.
 */
public final class SafeImages {
    /** Largest side accepted; the models take images of a few hundred pixels. */
    public static final int MAX_SIDE = 8192;
    /** Largest file accepted. */
    public static final long MAX_BYTES = 256L << 20;

    private SafeImages() {
    }

    /** An image that cannot be used, with the reason in the message. */
    public static final class BadImageException extends Exception {
        public BadImageException(String message) {
            super(message);
        }
    }

    /** Whether the file is an image of a size HeadScope decodes (checked from its header only). */
    public static boolean decodable(Path file) {
        try {
            header(file, false);
            return true;
        } catch (BadImageException e) {
            return false;
        }
    }

    /** {@link #decodable(Path)} for a typed path; false for a string that is no path. */
    public static boolean decodable(String file) {
        try {
            return decodable(Path.of(file));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /** Reads an image file the user named (a path, ~ expanded), or says clearly why it cannot, as a ModelException. */
    public static BufferedImage readUserImage(String file) {
        try {
            return read(UserPaths.resolve(file.trim()));
        } catch (BadImageException | IllegalArgumentException e) {
            throw new org.headscope.hooks.ModelException("The " + e.getMessage() + ".", "Choose a PNG, JPEG, GIF or BMP file of at most "
                    + MAX_SIDE + " x " + MAX_SIDE + " pixels.");
        }
    }

    public static BufferedImage read(Path file) throws BadImageException {
        return header(file, true);
    }

    private static BufferedImage header(Path file, boolean decode) throws BadImageException {
        String name = String.valueOf(file.getFileName());
        if (!Files.isRegularFile(file)) {
            throw new BadImageException("image " + file + " does not exist or is not a file");
        }
        try {
            long size = Files.size(file);
            if (size == 0 || size > MAX_BYTES) {
                throw new BadImageException("image " + name + " is " + size + " bytes (accepted: 1 byte to " + (MAX_BYTES >> 20) + " MB)");
            }
            try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
                Iterator<ImageReader> readers = in == null ? java.util.Collections.emptyIterator() : ImageIO.getImageReaders(in);
                if (!readers.hasNext()) {
                    throw new BadImageException("image " + name + " is not an image Java can read (use PNG, JPEG, GIF or BMP)");
                }
                ImageReader reader = readers.next();
                try {
                    reader.setInput(in, true, true);
                    int w = reader.getWidth(0);
                    int h = reader.getHeight(0);
                    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) {
                        throw new BadImageException("image " + name + " declares " + w + " x " + h + " pixels; HeadScope takes images of at most "
                                + MAX_SIDE + " x " + MAX_SIDE + " (scale it down first)");
                    }
                    if (!decode) {
                        return null;
                    }
                    BufferedImage image = reader.read(0);
                    if (image == null) {
                        throw new BadImageException("image " + name + " has no picture in it");
                    }
                    return image;
                } finally {
                    reader.dispose();
                }
            }
        } catch (BadImageException e) {
            throw e;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            throw new BadImageException("image " + name + " cannot be decoded (" + (e.getMessage() == null ? e.getClass().getSimpleName()
                    : e.getMessage()) + "); it is truncated, corrupt or in an unsupported variant");
        }
    }
}

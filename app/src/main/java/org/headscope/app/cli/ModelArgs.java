package org.headscope.app.cli;

import ai.onnx.proto.OnnxMl;
import org.headscope.app.model.ModelLocation;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;
import org.headscope.hooks.InputRole;
import org.headscope.hooks.ModelException;
import org.headscope.hooks.ModelInput;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Shared handling of the MODEL argument, --device, and --text/--ids, with the model's limits checked. */
public final class ModelArgs {
    /** Longest sequence accepted from a model whose manifest names no maxLength. */
    public static final int DEFAULT_MAX_TOKENS = 8192;

    private ModelArgs() {
    }

    /** A bundled model's name, or a path (resolved against the caller's folder) to a .onnx file or model folder. */
    public static Path resolve(String model) {
        try {
            return ModelLocation.resolve(model);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    public static HookedModel open(Args args) {
        String model = args.positional(0, "MODEL (a .onnx file, a model folder or a bundled name)");
        DevicePreference device = DevicePreference.parse(args.string("device", "auto"));
        runtimeSettings(args);
        Path path = resolve(model);
        ScanIo.token().check();
        HookedModel m;
        try {
            m = HookedModel.open(path, device);
        } catch (ModelException | IllegalArgumentException | java.util.concurrent.CancellationException e) {
            throw e;
        } catch (IndexOutOfBoundsException | NullPointerException | ClassCastException | ArithmeticException
                 | NegativeArraySizeException | IllegalStateException e) {
            // the graph was checked when read, so this is a malformed graph the checks do not know yet
            org.headscope.app.util.ErrorLog.write("open " + path, e);
            throw new ModelException("HeadScope cannot read the graph of " + path.getFileName() + ": it is malformed in a way HeadScope "
                    + "does not recognise (" + e.getClass().getSimpleName() + ").",
                    "Check the model with onnx.checker.check_model and re-export it; the details are in the cache folder's logs.", e);
        }
        if (ScanIo.token().isCancelled()) {
            m.close();
            ScanIo.token().check();
        }
        for (String w : m.warnings()) {
            System.err.println("headscope: warning: " + w);
        }
        return m;
    }

    /**
     * {@code --threads N} (ONNX Runtime intra-op threads; default 0, ONNX Runtime's choice) and {@code --spin
     * auto|on|off} (spin-waiting of idle worker threads; default auto: off when the machine's load average reaches its
     * core count, where spinning was measured slower), applied to the sessions opened from here on and written into
     * the reports' provenance.
     */
    static void runtimeSettings(Args args) {
        int threads = args.integer("threads", 0, 0, 1024, "the number of intra-op threads");
        String spin = args.string("spin", "auto");
        org.headscope.hooks.RuntimeSettings.set(switch (spin) {
            case "auto" -> org.headscope.hooks.RuntimeSettings.auto(threads);
            case "on", "off" -> new org.headscope.hooks.RuntimeSettings(threads, spin.equals("on"));
            default -> throw new UsageException("--spin must be auto, on or off, got '" + spin + "'");
        });
    }

    /** The model's name for messages: the manifest's, else its file's. */
    public static String displayName(HookedModel model) {
        String n = model.manifest().name();
        return n != null && !n.isBlank() ? n : String.valueOf(model.model().path().getFileName());
    }

    /** The longest sequence the model takes: the manifest's maxLength, else {@link #DEFAULT_MAX_TOKENS}. */
    public static int maxTokens(HookedModel model) {
        Integer max = model.manifest().maxLength();
        return max != null ? max : DEFAULT_MAX_TOKENS;
    }

    /** Refuses a sequence longer than the model takes (exit 3), before any work. */
    public static void checkLength(HookedModel model, long tokens, String what) {
        int max = maxTokens(model);
        if (tokens > max) {
            boolean declared = model.manifest().maxLength() != null;
            throw new ModelException("The " + what + " has " + tokens + " tokens; " + displayName(model) + " takes at most " + max
                    + (declared ? "." : " (HeadScope's limit when the manifest names no maxLength)."),
                    "Shorten it to " + max + " tokens or fewer" + (declared ? "." : ", or set \"maxLength\" in the model's headscope.json."));
        }
    }

    /** The number of token ids the model's embedding table holds, or -1 when the graph does not say. */
    public static long vocabularySize(HookedModel model) {
        return ModelLocation.vocabularySize(model);
    }

    public static void checkIds(HookedModel model, long[] ids, String what) {
        if (ids.length == 0) {
            throw new UsageException(what + " has no tokens; give at least one");
        }
        checkLength(model, ids.length, "prompt");
        long vocab = vocabularySize(model);
        for (long id : ids) {
            if (id < 0 || (vocab > 0 && id >= vocab)) {
                throw new UsageException(what + " holds token id " + id + "; " + displayName(model) + " takes ids 0.."
                        + (vocab > 0 ? Long.toString(vocab - 1) : "(its vocabulary size - 1)"));
            }
        }
    }

    /** Text that could not be a prompt: more characters than any model could take as tokens. */
    public static void checkTextLength(HookedModel model, String text, String what) {
        // a token covers at least one character in every tokenizer HeadScope reads, except special tokens added around it
        long chars = text.codePointCount(0, text.length());
        int max = maxTokens(model);
        if (chars > 64L * max + 1024) {
            throw new ModelException("The " + what + " has " + chars + " characters, far more than the " + max + " tokens "
                    + displayName(model) + " takes.", "Shorten it to at most " + max + " tokens.");
        }
    }

    /** Token ids and strings from --text (through the model's tokenizer) or --ids, checked against the model. */
    public static HsTokenizer.Tokens tokens(Args args, HookedModel model) {
        String text = args.string("text", null);
        List<Long> ids = args.longs("ids");
        if ((text == null) == (ids == null)) {
            throw new UsageException("give exactly one of --text TEXT or --ids 1,2,3");
        }
        HsTokenizer.Tokens t;
        if (text != null) {
            if (text.isEmpty()) {
                throw new UsageException("--text is empty; give the prompt");
            }
            checkTextLength(model, text, "prompt");
            t = model.requireTokenizer().encode(text);
        } else {
            long[] arr = ids.stream().mapToLong(Long::longValue).toArray();
            checkIds(model, arr, "--ids");
            String[] strings = new String[arr.length];
            for (int i = 0; i < arr.length; i++) {
                long id = arr[i];
                strings[i] = model.tokenizer().map(tk -> tk.tokenString(id)).orElse(Long.toString(id));
            }
            int[][] spans = new int[arr.length][];
            java.util.Arrays.fill(spans, new int[]{-1, -1});
            t = new HsTokenizer.Tokens(arr, strings, spans);
        }
        if (t.size() == 0) {
            throw new UsageException("the prompt has no tokens");
        }
        checkLength(model, t.size(), "prompt");
        return t;
    }

    /** A text prompt option (--prompt, --target) encoded and checked against the model. */
    public static long[] promptIds(HookedModel model, String text, String option) {
        if (text.isBlank()) {
            throw new UsageException("--" + option + " is empty; give the text");
        }
        checkTextLength(model, text, "--" + option + " text");
        long[] ids = model.requireTokenizer().encode(text).ids();
        checkLength(model, ids.length, "--" + option + " text");
        return ids;
    }

    /**
     * A vision-language model's decoder takes input embeddings: such a command needs {@code --image FILE} (its prompts
     * then run with the image placed as the workbench places it); a text model takes no image.
     */
    public static void requireImageForVision(HookedModel model, java.awt.image.BufferedImage image, String command) {
        if (image != null && model.vision().isEmpty()) {
            throw new UsageException("--image needs a vision-language model (a manifest with a \"vision\" block); "
                    + displayName(model) + " takes text only");
        }
        if (image == null && model.vision().isPresent()) {
            throw new ModelException(displayName(model) + " is a vision-language model: its decoder takes input embeddings, and "
                    + command + " builds them from a prompt with its image.",
                    "Give --image FILE with the prompt, e.g. one of the model's samples/*.png.");
        }
    }

    /** Reads {@code --image}, or says why it cannot. */
    static java.awt.image.BufferedImage image(Path file) {
        try {
            return org.headscope.app.util.SafeImages.read(file);
        } catch (org.headscope.app.util.SafeImages.BadImageException e) {
            throw new ModelException("--image: " + e.getMessage() + ".", "Give a PNG, JPEG, GIF or BMP image of at most "
                    + org.headscope.app.util.SafeImages.MAX_SIDE + " x " + org.headscope.app.util.SafeImages.MAX_SIDE + " pixels.");
        }
    }
}

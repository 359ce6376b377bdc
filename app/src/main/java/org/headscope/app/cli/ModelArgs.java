package org.headscope.app.cli;

import org.headscope.assets.BundledModels;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Shared handling of the MODEL argument, --device, and --text/--ids. */
public final class ModelArgs {
    private ModelArgs() {
    }

    /** A bundled model's name, or a path to a .onnx file or model folder. */
    public static Path resolve(String model) {
        if (BundledModels.available().contains(model)) {
            return BundledModels.folder(model);
        }
        Path p = Path.of(model);
        if (!Files.exists(p)) {
            throw new UsageException("model '" + model + "' is neither a file, a folder, nor a bundled model "
                    + BundledModels.available());
        }
        return p;
    }

    public static HookedModel open(Args args) {
        String model = args.positional(0, "MODEL (a .onnx file, a model folder or a bundled name)");
        DevicePreference device = DevicePreference.parse(args.string("device", "auto"));
        return HookedModel.open(resolve(model), device);
    }

    /** Token ids and strings from --text (through the model's tokenizer) or --ids. */
    public static HsTokenizer.Tokens tokens(Args args, HookedModel model) {
        String text = args.string("text", null);
        List<Long> ids = args.longs("ids");
        if ((text == null) == (ids == null)) {
            throw new UsageException("give exactly one of --text TEXT or --ids 1,2,3");
        }
        HsTokenizer.Tokens t;
        if (text != null) {
            t = model.requireTokenizer().encode(text);
        } else {
            long[] arr = ids.stream().mapToLong(Long::longValue).toArray();
            String[] strings = new String[arr.length];
            for (int i = 0; i < arr.length; i++) {
                long id = arr[i];
                strings[i] = model.tokenizer().map(tk -> tk.tokenString(id)).orElse(Long.toString(id));
            }
            int[][] spans = new int[arr.length][];
            java.util.Arrays.fill(spans, new int[]{-1, -1});
            t = new HsTokenizer.Tokens(arr, strings, spans);
        }
        Integer max = model.manifest().maxLength();
        if (max != null && t.size() > max) {
            throw new org.headscope.hooks.ModelException("The prompt has " + t.size() + " tokens; " + model.manifest().name()
                    + " takes at most " + max + ".", "Shorten the prompt to " + max + " tokens or fewer.");
        }
        return t;
    }
}

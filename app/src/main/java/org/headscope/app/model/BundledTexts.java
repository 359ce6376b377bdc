package org.headscope.app.model;

import org.headscope.analysis.ProbeTexts;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.HsTokenizer;

import java.util.List;

/** Probe texts made of the bundled held-out haystack (assets/needles/haystack.txt), for scans that need no user prompts. */
public final class BundledTexts {
    private BundledTexts() {
    }

    /** See {@link ProbeTexts#probes}: {@code count} texts of at least {@code tokens} tokens from the bundled haystack. */
    public static List<String> haystackProbes(HsTokenizer tokenizer, int tokens, int count, int stride) {
        return ProbeTexts.probes(ProbeTexts.sentences(BundledModels.needles().resolve("haystack.txt")), tokenizer, tokens, count, stride);
    }
}

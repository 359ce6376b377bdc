package org.headscope.app.attention;

import org.headscope.analysis.Needle;
import org.headscope.assets.BundledModels;

import java.util.List;

/** The bundled held-out needles, read once, for marking a needle span in the token strip. */
final class BundledNeedles {
    private static volatile List<Needle> needles;

    private BundledNeedles() {
    }

    static List<Needle> get() {
        List<Needle> n = needles;
        if (n == null) {
            n = List.copyOf(Needle.read(BundledModels.needles().resolve("needles.jsonl")));
            needles = n;
        }
        return n;
    }
}

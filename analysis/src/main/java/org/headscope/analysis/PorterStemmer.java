package org.headscope.analysis;

import java.util.Locale;
import java.util.Map;

/**
 * The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980) with the extensions that the
 * Retrieval Head code's ROUGE scorer gets from its stemmer: words of one or two letters are left alone, a short table
 * of irregular forms (sky/skies, dying, lying, tying, news, innings, outings, cannings, howe, proceed, exceed, succeed),
 * four-letter -ies/-ied words keep -ie, step 1c turns y into i only after a consonant that is not the first letter,
 * step 2 applies alli -> al first and has bli -> ble, fulli -> ful and logi -> log, and *o also holds for
 * a two-letter vowel-consonant stem. Lower-case ASCII words in, stems out.
 */
public final class PorterStemmer {
    private static final Map<String, String> IRREGULAR = Map.ofEntries(
            Map.entry("sky", "sky"), Map.entry("skies", "sky"), Map.entry("dying", "die"), Map.entry("lying", "lie"),
            Map.entry("tying", "tie"), Map.entry("news", "news"), Map.entry("innings", "inning"), Map.entry("inning", "inning"),
            Map.entry("outings", "outing"), Map.entry("outing", "outing"), Map.entry("cannings", "canning"),
            Map.entry("canning", "canning"), Map.entry("howe", "howe"), Map.entry("proceed", "proceed"),
            Map.entry("exceed", "exceed"), Map.entry("succeed", "succeed"));

    private static final String[][] STEP2 = {
            {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"}, {"izer", "ize"}, {"bli", "ble"},
            {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"}, {"ization", "ize"}, {"ation", "ate"},
            {"ator", "ate"}, {"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"},
            {"iviti", "ive"}, {"biliti", "ble"}, {"fulli", "ful"}};
    private static final String[][] STEP3 = {
            {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"}, {"ful", ""}, {"ness", ""}};
    private static final String[] STEP4 = {
            "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate", "iti",
            "ous", "ive", "ize"};

    private PorterStemmer() {
    }

    /** The stem of one word (lower-cased first). */
    public static String stem(String word) {
        String w = word.toLowerCase(Locale.ROOT);
        String irregular = IRREGULAR.get(w);
        if (irregular != null) {
            return irregular;
        }
        if (w.length() <= 2) {
            return w;
        }
        w = step1a(w);
        w = step1b(w);
        w = step1c(w);
        w = step2(w);
        w = step3(w);
        w = step4(w);
        w = step5a(w);
        return step5b(w);
    }

    private static boolean consonant(String w, int i) {
        char c = w.charAt(i);
        if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') {
            return false;
        }
        if (c == 'y') {
            return i == 0 || !consonant(w, i - 1);
        }
        return true;
    }

    /** m in [C](VC)^m[V]. */
    private static int measure(String stem) {
        int m = 0;
        boolean vowelSeen = false;
        for (int i = 0; i < stem.length(); i++) {
            if (!consonant(stem, i)) {
                vowelSeen = true;
            } else if (vowelSeen) {
                m++;
                vowelSeen = false;
            }
        }
        return m;
    }

    private static boolean hasVowel(String stem) {
        for (int i = 0; i < stem.length(); i++) {
            if (!consonant(stem, i)) {
                return true;
            }
        }
        return false;
    }

    private static boolean endsDoubleConsonant(String w) {
        int n = w.length();
        return n >= 2 && w.charAt(n - 1) == w.charAt(n - 2) && consonant(w, n - 1);
    }

    /** *o: consonant-vowel-consonant at the end, the last not w, x or y; or a two-letter vowel-consonant word. */
    private static boolean endsCvc(String w) {
        int n = w.length();
        if (n >= 3 && consonant(w, n - 3) && !consonant(w, n - 2) && consonant(w, n - 1)) {
            char c = w.charAt(n - 1);
            return c != 'w' && c != 'x' && c != 'y';
        }
        return n == 2 && !consonant(w, 0) && consonant(w, 1);
    }

    private static String cut(String w, String suffix) {
        return w.substring(0, w.length() - suffix.length());
    }

    private static String step1a(String w) {
        if (w.endsWith("ies") && w.length() == 4) {
            return cut(w, "ies") + "ie";
        }
        if (w.endsWith("sses")) {
            return cut(w, "sses") + "ss";
        }
        if (w.endsWith("ies")) {
            return cut(w, "ies") + "i";
        }
        if (w.endsWith("ss")) {
            return w;
        }
        if (w.endsWith("s")) {
            return cut(w, "s");
        }
        return w;
    }

    private static String step1b(String w) {
        if (w.endsWith("ied")) {
            return cut(w, "ied") + (w.length() == 4 ? "ie" : "i");
        }
        if (w.endsWith("eed")) {
            String stem = cut(w, "eed");
            return measure(stem) > 0 ? stem + "ee" : w;
        }
        String stem = null;
        for (String suffix : new String[]{"ed", "ing"}) {
            if (w.endsWith(suffix) && hasVowel(cut(w, suffix))) {
                stem = cut(w, suffix);
                break;
            }
        }
        if (stem == null) {
            return w;
        }
        if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) {
            return stem + "e";
        }
        if (endsDoubleConsonant(stem)) {
            char last = stem.charAt(stem.length() - 1);
            return last == 'l' || last == 's' || last == 'z' ? stem : stem.substring(0, stem.length() - 1);
        }
        return measure(stem) == 1 && endsCvc(stem) ? stem + "e" : stem;
    }

    private static String step1c(String w) {
        if (w.endsWith("y")) {
            String stem = cut(w, "y");
            if (stem.length() > 1 && consonant(stem, stem.length() - 1)) {
                return stem + "i";
            }
        }
        return w;
    }

    private static String step2(String w) {
        if (w.endsWith("alli") && measure(cut(w, "alli")) > 0) {
            return step2(cut(w, "alli") + "al");
        }
        String r = firstRule(w, STEP2, 0);
        if (r != null) {
            return r;
        }
        if (w.endsWith("logi")) {
            return measure(cut(w, "ogi")) > 0 ? cut(w, "logi") + "log" : w;
        }
        return w;
    }

    private static String step3(String w) {
        String r = firstRule(w, STEP3, 0);
        return r == null ? w : r;
    }

    /**
     * The first rule whose suffix ends the word: its replacement when the stem's measure exceeds {@code minMeasure},
     * else the word unchanged; null when no suffix matches.
     */
    private static String firstRule(String w, String[][] rules, int minMeasure) {
        for (String[] rule : rules) {
            if (w.endsWith(rule[0])) {
                String stem = cut(w, rule[0]);
                return measure(stem) > minMeasure ? stem + rule[1] : w;
            }
        }
        return null;
    }

    private static String step4(String w) {
        for (String suffix : STEP4) {
            if (w.endsWith(suffix)) {
                String stem = cut(w, suffix);
                boolean ok = measure(stem) > 1;
                if (suffix.equals("ion")) {
                    ok &= !stem.isEmpty() && (stem.endsWith("s") || stem.endsWith("t"));
                }
                return ok ? stem : w;
            }
        }
        return w;
    }

    private static String step5a(String w) {
        if (w.endsWith("e")) {
            String stem = cut(w, "e");
            int m = measure(stem);
            if (m > 1 || m == 1 && !endsCvc(stem)) {
                return stem;
            }
        }
        return w;
    }

    private static String step5b(String w) {
        if (w.endsWith("ll") && measure(cut(w, "l")) > 1) {
            return cut(w, "l");
        }
        return w;
    }
}

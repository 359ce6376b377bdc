package org.headscope.app.cli;

import org.headscope.hooks.HookedModel;

import java.util.List;

/** Answers and positions as the patching, DLA and lens commands take them. */
final class InterpretabilityArgs {
    private InterpretabilityArgs() {
    }

    /** An answer token: {@code #ID} for a token id, else the first token of the text. */
    static long token(HookedModel m, String text, String option) {
        String s = text.strip();
        if (s.startsWith("#")) {
            long id;
            try {
                id = Long.parseLong(s.substring(1));
            } catch (NumberFormatException e) {
                throw new UsageException("--" + option + ": '" + s + "' is not a token id; write #ID, e.g. #42");
            }
            ModelArgs.checkIds(m, new long[]{id}, "--" + option);
            return id;
        }
        if (s.isEmpty()) {
            throw new UsageException("--" + option + " is empty; give a word or #ID");
        }
        long[] ids = m.requireTokenizer().encodePlain(s);
        if (ids.length == 0) {
            throw new UsageException("--" + option + " '" + s + "' has no tokens");
        }
        return ids[0];
    }

    /** {@code A,B}: two answer tokens. */
    static long[] pair(HookedModel m, String spec, String option) {
        String[] parts = spec.split(",");
        if (parts.length != 2) {
            throw new UsageException("--" + option + " takes two answers separated by a comma, e.g. quartz,copper");
        }
        return new long[]{token(m, parts[0], option), token(m, parts[1], option)};
    }

    /** {@code all} (null) or a list of positions, negative counting from the end, checked against the length. */
    static int[] positions(String spec, int length) {
        if (spec == null || spec.equals("all")) {
            return null;
        }
        List<String> parts = List.of(spec.split(","));
        int[] out = new int[parts.size()];
        for (int i = 0; i < out.length; i++) {
            int p;
            try {
                p = Integer.parseInt(parts.get(i).strip());
            } catch (NumberFormatException e) {
                throw new UsageException("--positions must be all or a list of integers, got '" + spec + "'");
            }
            int q = p < 0 ? length + p : p;
            if (q < 0 || q >= length) {
                throw new UsageException("--positions: " + p + " is outside the prompt's 0.." + (length - 1));
            }
            out[i] = q;
        }
        return out;
    }
}

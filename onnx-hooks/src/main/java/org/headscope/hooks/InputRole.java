package org.headscope.hooks;

import java.util.Locale;

/** What a model input carries, inferred from its name unless the manifest says otherwise. */
public enum InputRole {
    INPUT_IDS, ATTENTION_MASK, POSITION_IDS, TOKEN_TYPE_IDS, INPUTS_EMBEDS, PIXEL_VALUES, PAST_KEY, PAST_VALUE, USE_CACHE, OTHER;

    public static InputRole infer(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.startsWith("past") || n.contains("past_key_values") || n.startsWith("cache")) {
            // past_key_values.0.key is a key: "value" counts only after the past_key_values / key_values prefix
            String tail = n.replace("past_key_values", "").replace("key_values", "");
            return tail.contains("value") || tail.endsWith(".v") || tail.endsWith("_v") ? PAST_VALUE : PAST_KEY;
        }
        if (n.contains("use_cache")) {
            return USE_CACHE;
        }
        if (n.contains("input_ids") || n.equals("ids") || n.equals("tokens")) {
            return INPUT_IDS;
        }
        if (n.contains("attention_mask") || n.equals("mask")) {
            return ATTENTION_MASK;
        }
        if (n.contains("position_ids") || n.equals("positions")) {
            return POSITION_IDS;
        }
        if (n.contains("token_type")) {
            return TOKEN_TYPE_IDS;
        }
        if (n.contains("inputs_embeds") || n.contains("input_embeds")) {
            return INPUTS_EMBEDS;
        }
        if (n.contains("pixel_values")) {
            return PIXEL_VALUES;
        }
        return OTHER;
    }
}

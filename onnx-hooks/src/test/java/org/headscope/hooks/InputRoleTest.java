package org.headscope.hooks;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Past inputs are told apart by what follows the past_key_values prefix, whose own "values" says nothing. */
class InputRoleTest {
    @ParameterizedTest
    @CsvSource({"past_key_values.0.key, PAST_KEY", "past_key_values.0.value, PAST_VALUE", "past_key_values.11.key, PAST_KEY",
            "past_key_values.11.value, PAST_VALUE", "past_key, PAST_KEY", "past_value, PAST_VALUE", "past.3.k, PAST_KEY",
            "past.3.v, PAST_VALUE", "cache_key_3, PAST_KEY", "cache_value_3, PAST_VALUE", "input_ids, INPUT_IDS"})
    void roleOfName(String name, InputRole role) {
        assertEquals(role, InputRole.infer(name), name);
    }
}

package org.headscope.hooks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Past inputs are told apart by what follows the past_key_values prefix, whose own "values" says nothing. */
class InputRoleTest {
    @Test
    void pastKeysAndValues() {
        assertEquals(InputRole.PAST_KEY, InputRole.infer("past_key_values.0.key"));
        assertEquals(InputRole.PAST_VALUE, InputRole.infer("past_key_values.0.value"));
        assertEquals(InputRole.PAST_KEY, InputRole.infer("past_key_values.11.key"));
        assertEquals(InputRole.PAST_VALUE, InputRole.infer("past_key_values.11.value"));
        assertEquals(InputRole.PAST_KEY, InputRole.infer("past_key"));
        assertEquals(InputRole.PAST_VALUE, InputRole.infer("past_value"));
        assertEquals(InputRole.PAST_KEY, InputRole.infer("past.3.k"));
        assertEquals(InputRole.PAST_VALUE, InputRole.infer("past.3.v"));
        assertEquals(InputRole.PAST_KEY, InputRole.infer("cache_key_3"));
        assertEquals(InputRole.PAST_VALUE, InputRole.infer("cache_value_3"));
        assertEquals(InputRole.INPUT_IDS, InputRole.infer("input_ids"));
    }
}

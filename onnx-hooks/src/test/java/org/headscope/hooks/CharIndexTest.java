package org.headscope.hooks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Code-point offsets to char indices from one table per text, equal to String.offsetByCodePoints. */
class CharIndexTest {
    @Test
    void tableMatchesOffsetByCodePoints() {
        String text = "a\uD83D\uDE00b c\uD83C\uDF0D";
        int[] table = HsTokenizer.charIndices(text);
        assertArrayEquals(new int[]{0, 1, 3, 4, 5, 6, 8}, table);
        int cps = text.codePointCount(0, text.length());
        for (int cp = -1; cp <= cps + 2; cp++) {
            int want = cp >= cps ? text.length() : text.offsetByCodePoints(0, Math.max(0, cp));
            assertEquals(want, HsTokenizer.charIndex(text, table, cp), "offset " + cp);
        }
        assertNull(HsTokenizer.charIndices("plain ascii"));
        assertEquals(5, HsTokenizer.charIndex("plain", null, 9));
        assertEquals(2, HsTokenizer.charIndex("plain", null, 2));
    }
}

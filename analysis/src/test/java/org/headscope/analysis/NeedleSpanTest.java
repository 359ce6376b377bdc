package org.headscope.analysis;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class NeedleSpanTest {
    @Test
    void exactlyTheTokensOfTheNeedleSentenceAreInside() {
        String text = "dont worry , be happy . The secret code of the iron mountain is two apples . question : what ?";
        Needle n = new Needle("the secret code of the iron mountain is two apples .", "what is it ?", "two apples");
        // spans of the words written by hand: "dont"=0..4, ... "the"=24..27 starts the needle, "." at 75..76 ends it
        String[] words = text.split(" ");
        int[][] spans = new int[words.length + 1][];
        spans[0] = new int[]{-1, -1};
        int at = 0;
        for (int i = 0; i < words.length; i++) {
            spans[i + 1] = new int[]{at, at + words[i].length()};
            at += words[i].length() + 1;
        }
        boolean[] inside = Needle.tokensInside(text, spans, List.of(n));
        boolean[] expected = new boolean[spans.length];
        for (int t = 7; t <= 17; t++) {
            expected[t] = true;
        }
        assertArrayEquals(expected, inside);
    }
}

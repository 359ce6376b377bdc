package org.headscope.analysis;

import org.headscope.hooks.CancelToken;
import org.headscope.hooks.DevicePreference;
import org.headscope.hooks.GreedyDecoder;
import org.headscope.hooks.HookedModel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Retrieval scores from KV-cache decoding equal those of the full re-run: the fixture decoders exported with past
 * key/values (onnx-hooks/src/test/fixtures/*-past), with a word-level tokenizer over their 64-token vocabulary, scanned
 * in generate and reference modes both ways; same responses, same per-test scores.
 */
class RetrievalKvCacheTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-past", "llama-past"})
    void cachedDecodingGivesTheSameTokensAndScores(String fixture) throws Exception {
        Path folder = dir.resolve(fixture);
        Files.createDirectories(folder);
        Files.copy(Path.of("../onnx-hooks/src/test/fixtures").resolve(fixture).resolve("model.onnx"), folder.resolve("model.onnx"));
        Files.writeString(folder.resolve("tokenizer.json"), PlantedDecoders.tokenizerJson(64));
        String positions = fixture.startsWith("llama") ? ", \"position_ids\": \"position_ids\"" : "";
        Files.writeString(folder.resolve("headscope.json"), """
                {"format": "headscope-manifest/1", "name": "%s", "kind": "decoder", "architecture": "test",
                 "model": "model.onnx", "tokenizer": "tokenizer.json",
                 "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask"%s}, "outputs": {"logits": "logits"},
                 "bos": 1, "eos": 2, "pad": 0, "maxLength": 64,
                 "retrieval": {"template": "{haystack} {question}", "sentenceEnd": "."}}
                """.formatted(fixture, positions));
        try (HookedModel model = HookedModel.open(folder, DevicePreference.CPU)) {
            assertEquals(GreedyDecoder.Way.KV_CACHE, GreedyDecoder.way(model));
            for (RetrievalScan.Mode mode : List.of(RetrievalScan.Mode.GENERATE, RetrievalScan.Mode.REFERENCE)) {
                RetrievalScan.Params p = new RetrievalScan.Params(List.of(24, 40), 3, mode, 0.5, 0.1, 8);
                RetrievalResult cached = RetrievalScan.run(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, p,
                        GreedyDecoder.Way.KV_CACHE, Progress.NONE, CancelToken.NEVER);
                RetrievalResult full = RetrievalScan.run(model, PlantedDecoders.NEEDLES, PlantedDecoders.HAYSTACK, p,
                        GreedyDecoder.Way.FULL_RERUN, Progress.NONE, CancelToken.NEVER);
                assertEquals(full.tests().size(), cached.tests().size());
                assertEquals(2 * 2 * 3, cached.tests().size());
                for (int i = 0; i < full.tests().size(); i++) {
                    RetrievalScan.Test f = full.tests().get(i);
                    RetrievalScan.Test c = cached.tests().get(i);
                    assertEquals(f.response(), c.response(), fixture + " " + mode + " test " + i);
                    for (int l = 0; l < f.scores().length; l++) {
                        assertArrayEquals(f.scores()[l], c.scores()[l], 0.0, fixture + " " + mode + " test " + i + " layer " + l);
                    }
                }
                assertEquals(full.counted(), cached.counted());
                for (int l = 0; full.counted() > 0 && l < model.layers(); l++) {
                    assertArrayEquals(full.scores()[l], cached.scores()[l], 0.0);
                }
                assertEquals(full.runs(), cached.runs(), "one run per generated token either way");
            }
        }
    }
}

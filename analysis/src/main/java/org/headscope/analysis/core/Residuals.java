package org.headscope.analysis.core;

import org.headscope.hooks.CancelToken;
import org.headscope.hooks.FloatTensor;
import org.headscope.hooks.HookSet;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.RunRequest;
import org.headscope.hooks.RunResult;
import org.headscope.hooks.TapKind;
import org.headscope.hooks.TapSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The residual stream entering each layer, VAR's RMS normalisation of it, the massive dimensions of the first token and
 * the visual sink tokens found in them: read by the sink scan and by VAR's redistribution alike.
 */
public final class Residuals {
    private Residuals() {
    }

    /** A token whose normalised residual exceeds tau in a massive dimension, at the layer it enters. */
    public record VisualSink(int layer, int position, int dim, double value) {
    }

    /** [layer][token][dim] residual of batch element 0, from the RESIDUAL taps of layers 0 .. layers-1. */
    public static float[][][] stream(RunResult r, int layers) {
        float[][][] out = new float[layers][][];
        for (int l = 0; l < layers; l++) {
            FloatTensor x = r.tap(TapKind.RESIDUAL, l);
            int t = x.dim(1);
            int d = x.dim(2);
            out[l] = new float[t][];
            for (int i = 0; i < t; i++) {
                out[l][i] = Arrays.copyOfRange(x.data(), i * d, (i + 1) * d);
            }
        }
        return out;
    }

    /** {@code |x / sqrt(mean_d x^2 + 1e-6)|}, VAR's RMS normalisation without gain. */
    public static double[] rmsNormalised(float[] x) {
        double ms = 0;
        for (float v : x) {
            ms += (double) v * v;
        }
        double rms = Math.sqrt(ms / x.length + 1e-6);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Math.abs(x[i] / rms);
        }
        return out;
    }

    /** [layer][dim] normalised residual of one token. */
    public static double[][] normalisedToken(float[][][] residual, int token) {
        double[][] out = new double[residual.length][];
        for (int l = 0; l < residual.length; l++) {
            out[l] = rmsNormalised(residual[l][token]);
        }
        return out;
    }

    /** The largest RMS-normalised value in the given dims over every layer and token (NaN when there are no dims). */
    public static double largestNormalised(float[][][] residual, List<Integer> dims) {
        double best = Double.NaN;
        for (float[][] layer : residual) {
            for (float[] x : layer) {
                double[] r = rmsNormalised(x);
                for (int d : dims) {
                    if (d >= 0 && d < r.length) {
                        best = Double.isNaN(best) ? r[d] : Math.max(best, r[d]);
                    }
                }
            }
        }
        return best;
    }

    /**
     * Dimensions that are outliers on the first token across layers: score each dim by its normalised magnitude at
     * token 0 averaged over prompts and over the layers after the embeddings (all layers for a one-layer model);
     * keep the dims scoring above {@code ratio} times the median score (the upper middle value for an even count of
     * dims), largest first, at most {@code max}.
     */
    public static List<Integer> massiveDims(List<double[][]> firstTokenPerPrompt, double ratio, int max) {
        double[][] any = firstTokenPerPrompt.get(0);
        int layers = any.length;
        int dims = any[0].length;
        int from = layers > 1 ? 1 : 0;
        double[] score = new double[dims];
        for (double[][] prompt : firstTokenPerPrompt) {
            for (int l = from; l < layers; l++) {
                for (int d = 0; d < dims; d++) {
                    score[d] += prompt[l][d] / ((layers - from) * firstTokenPerPrompt.size());
                }
            }
        }
        double[] sorted = score.clone();
        Arrays.sort(sorted);
        double median = sorted[dims / 2];
        return IntStream.range(0, dims).boxed().filter(d -> score[d] > ratio * median)
                .sorted((a, b) -> Double.compare(score[b], score[a])).limit(max).toList();
    }

    /** Tokens whose normalised residual exceeds tau in one of the dims, per layer (the first such dim). */
    public static List<VisualSink> visualSinks(float[][][] residual, List<Integer> dims, double tau) {
        List<VisualSink> out = new ArrayList<>();
        for (int l = 0; l < residual.length; l++) {
            for (int t = 0; t < residual[l].length; t++) {
                double[] r = rmsNormalised(residual[l][t]);
                for (int d : dims) {
                    if (d < 0 || d >= r.length) {
                        throw new IllegalArgumentException("massive dim " + d + " outside the hidden size " + r.length);
                    }
                    if (r[d] > tau) {
                        out.add(new VisualSink(l, t, d, r[d]));
                        break;
                    }
                }
            }
        }
        return out;
    }

    /**
     * Visual sink tokens of one input (token ids or embeddings, e.g. a vision-language prompt with its image), in the
     * given massive dimensions: one run with the residual taps of every layer.
     */
    public static List<VisualSink> visualSinks(HookedModel model, RunRequest request, List<Integer> dims, double tau, CancelToken cancel) {
        RunResult r = model.session(TapSet.of(TapKind.RESIDUAL, Heads.allLayers(model)), HookSet.NONE).run(request, cancel);
        return visualSinks(stream(r, model.layers()), dims, tau);
    }
}

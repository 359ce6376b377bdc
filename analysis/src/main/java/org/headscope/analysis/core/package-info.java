/**
 * The numbers and helpers every analysis shares: softmax, log-sum-exp, KL, cosine, mean pooling, argmax, median,
 * ordered metric maps, the model's heads and layers, and the residual-stream helpers of the sink and redistribution
 * analyses. It depends on the engine ({@code org.headscope.hooks}) only, never on an analysis, so that no analysis calls
 * another's helpers.
 */
package org.headscope.analysis.core;

/**
 * Reads ONNX graphs, finds every attention head, and rewrites the graph so attention can be read (taps,
 * reductions computed inside the graph) and steered (hooks, graph inputs with neutral defaults) without
 * re-exporting the model. {@link org.headscope.hooks.HookedSession} runs the result on CUDA or the CPU.
 */
package org.headscope.hooks;

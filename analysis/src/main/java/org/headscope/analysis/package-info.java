/**
 * The analyses of ALGORITHMS.md, one class each ({@code SinkScan}, {@code RetrievalScan}, {@code AblationScan},
 * {@code VisionDivergence}, {@code Redistribution}), over a {@link org.headscope.hooks.HookedModel}, returning
 * immutable results that become {@link org.headscope.analysis.report.HeadReport}s.
 */
package org.headscope.analysis;

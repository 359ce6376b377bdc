/**
 * The Sinks panel: {@link org.headscope.analysis.SinkScan} on haystack probes of the open model's tokenizer, heads
 * ranked by the mean attention they pay to the heat key.
 */
package org.headscope.app.sinks;

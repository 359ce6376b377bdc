/**
 * The attention view: the prompt and its token strip, one head's map drawn through a pixel buffer in viridis
 * (log or linear), and the layers-by-heads grid of small multiples. {@link org.headscope.app.attention.AttentionRunner}
 * makes the runs (plain Java, shared with the re-run benchmark); the rest is view and view model.
 */
package org.headscope.app.attention;

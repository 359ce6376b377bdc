/**
 * The Redistribution panel: ACT, VAR, ZeroTuning and PAI from {@link org.headscope.analysis.Redistribution}, with
 * sliders for their parameters and a live before/after of the output and the chosen head's map.
 */
package org.headscope.app.redistribution;

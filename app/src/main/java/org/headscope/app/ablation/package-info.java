/**
 * Live ablation: heads toggled in the grid are ablated (zero, mean, uniform, BOS or scale) and the prompt re-runs
 * as one batched [clean, ablated] run; the panel shows the output before and after.
 */
package org.headscope.app.ablation;

/**
 * The Vision panel: {@link org.headscope.analysis.VisionDivergence} (VHD ranking and VHR reinforcement) on an image
 * and the workbench's prompt, for split vision-language exports.
 */
package org.headscope.app.vision;

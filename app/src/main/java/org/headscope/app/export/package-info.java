/**
 * Figures written to files: SVG and PNG (1x to 4x) of maps, grids and plots, and contact sheets of a layer's heads.
 */
package org.headscope.app.export;

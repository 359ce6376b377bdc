/**
 * Export: figures as PNG at 1x or 2x, contact sheets of a layer's heads, session files, and the committed
 * screenshot command that renders the workbench off-screen for the README.
 */
package org.headscope.app.report;

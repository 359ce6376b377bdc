/**
 * The scan-panel framework: a {@link org.headscope.app.panel.Scan} names an analysis, its parameters with defaults and
 * descriptions, and how to run it on the open model; {@link org.headscope.app.panel.ScanViewModel} runs it off the FX
 * thread and holds the report; {@link org.headscope.app.panel.ScanPanel} shows findings, plots and a typed table.
 */
package org.headscope.app.panel;

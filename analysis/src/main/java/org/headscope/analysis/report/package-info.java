/**
 * Head-importance reports: a versioned JSON schema, CSV, and a self-contained HTML page with figures, each with
 * the provenance needed to reproduce it. Files are written atomically.
 */
package org.headscope.analysis.report;

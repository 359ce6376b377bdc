/**
 * Benchmarks run from the command line ({@code headscope bench-...}). Each compares HeadScope's way with a
 * baseline doing the same work, side by side in one process, and prints ratios; nothing here is asserted by a test.
 */
package org.headscope.app.bench;

/**
 * Benchmarks run from the command line: each compares HeadScope's way of doing a job with the reference codes' way,
 * side by side in one process, and prints the ratio. Speed is measured here, never in tests.
 */
package org.headscope.app.bench;

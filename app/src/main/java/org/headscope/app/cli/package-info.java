/**
 * The command-line front end: {@code headscope COMMAND ...}. Each command runs the same analysis classes the
 * workbench uses and writes the same reports. Exit codes: 0 success, 2 bad usage, 3 a model that cannot be
 * handled, 4 cancelled (Ctrl-C).
 */
package org.headscope.app.cli;

/**
 * The command-line front end: {@code headscope COMMAND ...}. Each command runs the same analysis classes the
 * workbench uses and writes the same reports. Exit codes: 0 success, 2 bad usage, 3 a model or input that
 * cannot be handled, 4 cancelled (Ctrl-C), 5 an internal error (stack trace in the cache folder's log).
 */
package org.headscope.app.cli;

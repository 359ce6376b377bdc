/**
 * Entry points: {@link org.headscope.app.Main} opens the workbench or hands a command to {@link org.headscope.app.Cli},
 * the one registry of commands and the mapping of failures to {@link org.headscope.app.cli.ExitCode}s. Packages below
 * depend downwards only (checked by ModuleRulesTest): util, model, figures in attention, panel, the analysis panels,
 * export, workbench, cli and bench; nothing depends on this package.
 */
package org.headscope.app;

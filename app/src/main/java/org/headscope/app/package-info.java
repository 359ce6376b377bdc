/**
 * The HeadScope workbench (JavaFX) and, in {@code cli}, the command-line front end over the same analyses.
 */
package org.headscope.app;

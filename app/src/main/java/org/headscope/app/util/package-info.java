/**
 * Shared workbench plumbing: background tasks with progress and cancel, persisted settings, PNG export.
 * Views hand long work to a {@link org.headscope.app.util.TaskExecutor}; tests swap in a current-thread one.
 */
package org.headscope.app.util;

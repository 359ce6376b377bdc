/**
 * The workbench window: the application class, the view that lays out strip, map, grid and panels, the view model
 * that ties the model, prompt and panels together, its export menu and session files.
 */
package org.headscope.app.workbench;

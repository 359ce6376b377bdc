/**
 * The model bar: opening a model (bundled, file, folder, recent), the device it runs on and why, and its head
 * layout. The open model is shared by every panel through {@link org.headscope.app.model.ModelViewModel}.
 */
package org.headscope.app.model;

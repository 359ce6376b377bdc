/** The head-profile panel: per-head positional and content scores over the open prompt. */
package org.headscope.app.profile;

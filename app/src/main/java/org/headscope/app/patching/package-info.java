/** The Patching, Logit attribution and Head atlas panels' scans, over the analysis classes the commands use. */
package org.headscope.app.patching;

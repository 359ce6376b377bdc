/** The Patching, Logit attribution, Head atlas, Logit lens and Variant damage panels' scans, over the analysis classes the commands use. */
package org.headscope.app.patching;

/**
 * The Retrieval heads panel: {@link org.headscope.analysis.RetrievalScan} on the bundled needles and haystack,
 * heads ranked by retrieval score.
 */
package org.headscope.app.retrieval;

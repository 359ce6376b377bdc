/**
 * The models, tokenizers, needles and images bundled with HeadScope, and where they are on disk at run time.
 * Models ship inside this module's jar (and the MiniLM encoder inside its Maven Central jar); they are copied
 * once into the cache folder so ONNX Runtime can load them by path.
 */
package org.headscope.assets;

package org.headscope.hooks;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;

import java.util.Locale;

/** Which device the user asked for. AUTO and CUDA try CUDA first and fall back to the CPU with the reason. */
public enum DevicePreference {
    AUTO, CUDA, CPU;

    public static DevicePreference parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("device '" + s + "' is not one of auto, cuda, cpu");
        }
    }

    /**
     * False only when no CUDA provider library can be loaded: none in ONNX Runtime's jar for this platform (the CPU
     * artifact carries none) and none in {@code -Donnxruntime.native.path}. Then the device is the CPU without loading
     * ONNX Runtime's native library, which a model opened from the probe cache ({@code inspect}) never needs otherwise.
     * True (ask ONNX Runtime) whenever it cannot tell.
     */
    static boolean cudaLibraryPresent() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "osx" : os.startsWith("windows") ? "win" : null;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : null;
        if (o == null || a == null) {
            return true;
        }
        String dir = "/ai/onnxruntime/native/" + o + "-" + a + "/";
        if (OrtEnvironment.class.getResource(dir + System.mapLibraryName("onnxruntime")) == null) {
            return true;   // not the packaged runtime: a library path decides what loads
        }
        String cuda = System.mapLibraryName("onnxruntime_providers_cuda");
        if (OrtEnvironment.class.getResource(dir + cuda) != null) {
            return true;
        }
        String nativePath = System.getProperty("onnxruntime.native.path");
        return nativePath != null && !nativePath.isBlank() && java.nio.file.Files.exists(java.nio.file.Path.of(nativePath, cuda));
    }

    /** Decides the device once, by trying to add the CUDA provider to a throwaway options object. */
    DeviceInfo resolve() {
        if (this == CPU) {
            return new DeviceInfo("CPU", "the CPU was requested");
        }
        if (!cudaLibraryPresent() || !OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            return new DeviceInfo("CPU", "this build carries the CPU runtime; build with ./headscope --cuda (Maven profile cuda) to use a GPU");
        }
        try (OrtSession.SessionOptions probe = new OrtSession.SessionOptions()) {
            probe.addCUDA(0);
            return new DeviceInfo("CUDA", "CUDA execution provider loaded on GPU 0");
        } catch (OrtException | UnsatisfiedLinkError e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            return new DeviceInfo("CPU", "CUDA could not be loaded (" + why + "); install CUDA 12 and the NVIDIA driver, or run on the CPU");
        }
    }
}

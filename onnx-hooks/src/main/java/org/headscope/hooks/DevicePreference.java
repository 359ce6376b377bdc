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

    /** Decides the device once, by trying to add the CUDA provider to a throwaway options object. */
    DeviceInfo resolve(OrtEnvironment env) {
        if (this == CPU) {
            return new DeviceInfo("CPU", "the CPU was requested");
        }
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
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

package org.headscope.hooks;

/**
 * The execution provider sessions run on, and why: {@code provider} is "CUDA" or "CPU".
 */
public record DeviceInfo(String provider, String reason) {
    public boolean isCuda() {
        return provider.equals("CUDA");
    }

    @Override
    public String toString() {
        return provider + " (" + reason + ")";
    }
}

package org.headscope.hooks;

import java.util.List;
import java.util.function.Function;

/**
 * A handle for runs with a tap set and the hook families they may use. Each run goes to the compiled graph that
 * carries exactly the families its interventions use (the untouched graph when there are none), so hooks cost
 * nothing when unused and a family costs only when it is in play. Compiled graphs live in the model's cache.
 */
public final class HookedSession implements AutoCloseable {
    private final TapSet taps;
    private final HookSet hooks;
    private final boolean pinned;
    private final Function<HookSet, CompiledSession> compiled;
    private final CompiledSession owned;
    private final DeviceInfo device;
    private final List<AttentionSite> sites;

    private HookedSession(TapSet taps, HookSet hooks, boolean pinned, Function<HookSet, CompiledSession> compiled,
                          CompiledSession owned, DeviceInfo device, List<AttentionSite> sites) {
        this.taps = taps;
        this.hooks = hooks;
        this.pinned = pinned;
        this.compiled = compiled;
        this.owned = owned;
        this.device = device;
        this.sites = sites;
    }

    /** A handle over the model's session cache. */
    static HookedSession cached(TapSet taps, HookSet hooks, Function<HookSet, CompiledSession> compiled, DeviceInfo device,
                                List<AttentionSite> sites) {
        return new HookedSession(taps, hooks, false, compiled, null, device, sites);
    }

    /** A handle that owns one compiled session and closes it with itself. */
    static HookedSession owning(CompiledSession session) {
        return new HookedSession(session.taps(), session.hooks(), true, h -> session, session, session.device(), session.sites());
    }

    /**
     * The same handle, but every run goes through the graph compiled with all of this handle's hook families even
     * when a run leaves them neutral: for measuring what the hooks themselves cost, and for checking that neutral
     * hooks change nothing.
     */
    public HookedSession pinned() {
        return new HookedSession(taps, hooks, true, compiled, null, device, sites);
    }

    public TapSet taps() {
        return taps;
    }

    public HookSet hooks() {
        return hooks;
    }

    public DeviceInfo device() {
        return device;
    }

    public List<AttentionSite> sites() {
        return sites;
    }

    public RunResult run(RunRequest request) {
        return run(request, CancelToken.NEVER);
    }

    public RunResult run(RunRequest request, CancelToken cancel) {
        return run(request, null, java.util.Map.of(), cancel).result();
    }

    /**
     * A decoding step whose key/value cache stays in ONNX Runtime: {@code past} (or null) feeds the past inputs as it
     * is, and the present outputs named in {@code keep} (past input to present output) come back as the next cache,
     * which the caller closes (see {@link CompiledSession#run(RunRequest, KvCache, java.util.Map, CancelToken)}).
     */
    CompiledSession.Cached run(RunRequest request, KvCache past, java.util.Map<String, String> keep, CancelToken cancel) {
        HookSet needed = HookSet.NONE;
        for (Intervention i : request.interventions()) {
            needed = needed.union(i.hooks());
        }
        if (!hooks.union(needed).equals(hooks)) {
            throw new IllegalStateException("this session's hooks " + hooks + " do not cover the interventions' " + needed
                    + "; open the session with the families the interventions use");
        }
        HookSet use = pinned ? hooks : needed;
        for (int attempt = 0; ; attempt++) {
            CompiledSession s = compiled.apply(use);
            if (s.acquire()) {
                try {
                    return s.run(request, past, keep, cancel);
                } finally {
                    s.release();
                }
            }
            if (attempt > 3) {
                throw new IllegalStateException("session closed");
            }
        }
    }

    /** Closes the compiled session this handle owns (layer-suffix and probe sessions); cached ones stay with the model. */
    @Override
    public void close() {
        if (owned != null) {
            owned.close();
        }
    }
}

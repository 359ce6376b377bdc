package org.headscope.hooks;

import java.util.List;
import java.util.function.Function;

/**
 * A handle for runs with a tap set and the hook families they may use, over the model's cache of compiled graphs (the
 * model owns them; there is nothing to close). Each run goes to the compiled graph that carries exactly the families
 * its interventions use (the untouched graph when there are none), so hooks cost nothing when unused and a family
 * costs only when it is in play. A run leases its compiled graph from the cache under the model's lock, so a graph
 * retired from the cache meanwhile stays open until the run ends.
 */
public final class HookedSession implements SessionRunner {
    private final TapSet taps;
    private final HookSet hooks;
    private final boolean pinned;
    private final Function<HookSet, CompiledSession.Lease> lease;
    private final DeviceInfo device;
    private final List<AttentionSite> sites;

    HookedSession(TapSet taps, HookSet hooks, boolean pinned, Function<HookSet, CompiledSession.Lease> lease, DeviceInfo device,
                  List<AttentionSite> sites) {
        this.taps = taps;
        this.hooks = hooks;
        this.pinned = pinned;
        this.lease = lease;
        this.device = device;
        this.sites = sites;
    }

    /**
     * The same handle, but every run goes through the graph compiled with all of this handle's hook families even
     * when a run leaves them neutral: for measuring what the hooks themselves cost, and for checking that neutral
     * hooks change nothing.
     */
    public HookedSession pinned() {
        return new HookedSession(taps, hooks, true, lease, device, sites);
    }

    @Override
    public TapSet taps() {
        return taps;
    }

    @Override
    public HookSet hooks() {
        return hooks;
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public List<AttentionSite> sites() {
        return sites;
    }

    @Override
    public RunResult run(RunRequest request, CancelToken cancel) {
        HookSet needed = SessionRunner.needed(request, hooks);
        try (CompiledSession.Lease l = lease.apply(pinned ? hooks : needed)) {
            return l.run(request, cancel);
        }
    }

    /**
     * A decoding step whose key/value cache stays in ONNX Runtime: {@code past} (or null) feeds the past inputs as it
     * is, and the present outputs named in {@code keep} (past input to present output) come back as the next cache,
     * which the caller closes (see {@link CompiledSession#run(RunRequest, KvCache, java.util.Map, CancelToken)}).
     */
    CompiledSession.Cached run(RunRequest request, KvCache past, java.util.Map<String, String> keep, CancelToken cancel) {
        HookSet needed = SessionRunner.needed(request, hooks);
        try (CompiledSession.Lease l = lease.apply(pinned ? hooks : needed)) {
            return l.run(request, past, keep, cancel);
        }
    }
}

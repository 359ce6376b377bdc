package org.headscope.hooks;

import java.util.List;

/**
 * What runs requests on a model: a {@link HookedSession}, a handle over the model's cache of compiled graphs that the
 * model owns (nothing to close), or an {@link OwnedSession}, one compiled graph the caller opened and closes. Code that
 * only runs requests (a sweep over layer-suffix and full-model sessions) takes this type.
 */
public sealed interface SessionRunner permits HookedSession, OwnedSession {
    TapSet taps();

    HookSet hooks();

    DeviceInfo device();

    List<AttentionSite> sites();

    RunResult run(RunRequest request, CancelToken cancel);

    default RunResult run(RunRequest request) {
        return run(request, CancelToken.NEVER);
    }

    /** The union of the hook families a request's interventions use, checked against what a session was opened with. */
    static HookSet needed(RunRequest request, HookSet available) {
        HookSet needed = HookSet.NONE;
        for (Intervention i : request.interventions()) {
            needed = needed.union(i.hooks());
        }
        if (!available.union(needed).equals(available)) {
            throw new IllegalStateException("this session's hooks " + available + " do not cover the interventions' " + needed
                    + "; open the session with the families the interventions use");
        }
        return needed;
    }
}

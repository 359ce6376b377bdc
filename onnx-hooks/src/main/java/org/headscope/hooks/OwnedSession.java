package org.headscope.hooks;

import java.util.List;

/**
 * One compiled graph the caller opened (layer-suffix, cut, exposed and normalised sessions) and must close: closing
 * frees its native memory once the runs in flight on it have ended. A run after close fails with a clear message.
 */
public final class OwnedSession implements SessionRunner, AutoCloseable {
    private final CompiledSession session;

    OwnedSession(CompiledSession session) {
        this.session = session;
    }

    @Override
    public TapSet taps() {
        return session.taps();
    }

    @Override
    public HookSet hooks() {
        return session.hooks();
    }

    @Override
    public DeviceInfo device() {
        return session.device();
    }

    @Override
    public List<AttentionSite> sites() {
        return session.sites();
    }

    /** Runs on this graph, with every hook family it was compiled with (neutral where the request leaves them). */
    @Override
    public RunResult run(RunRequest request, CancelToken cancel) {
        SessionRunner.needed(request, session.hooks());
        try (CompiledSession.Lease lease = session.lease()) {
            return lease.run(request, cancel);
        }
    }

    @Override
    public void close() {
        session.retire();
    }
}

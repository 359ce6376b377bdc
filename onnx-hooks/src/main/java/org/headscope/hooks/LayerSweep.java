package org.headscope.hooks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Runs many interventions on one input, batched, and for each intervention recomputes only the layers from its
 * first edited layer onwards: one clean run records the residual stream entering every layer, then the
 * interventions that start at layer l run through a session cut at layer l, {@code batch} at a time.
 * Results equal full runs (the layers before an edit compute exactly what the clean run computed).
 */
public final class LayerSweep {
    private LayerSweep() {
    }

    /** One intervention's fetched outputs, in the order the interventions were given. */
    public static List<Map<String, FloatTensor>> run(HookedModel model, RunRequest input, List<Intervention> interventions,
                                                     HookSet hooks, List<String> outputs, int batch, CancelToken cancel,
                                                     java.util.function.BiConsumer<Integer, Integer> progress) {
        if (input.batchSize() != 1) {
            throw new IllegalArgumentException("a sweep runs on one sequence");
        }
        List<AttentionSite> sites = model.sites();
        boolean cut = sites.stream().allMatch(s -> s.residual() != null);
        Map<Integer, List<Integer>> byLayer = new TreeMap<>();
        for (int i = 0; i < interventions.size(); i++) {
            byLayer.computeIfAbsent(cut ? firstLayer(interventions.get(i)) : 0, k -> new ArrayList<>()).add(i);
        }
        Map<String, FloatTensor> residuals = new LinkedHashMap<>();
        if (cut) {
            List<Integer> all = java.util.stream.IntStream.range(0, sites.size()).boxed().toList();
            RunResult clean = model.session(TapSet.of(TapKind.RESIDUAL, all), HookSet.NONE).run(input, cancel);
            for (AttentionSite s : sites) {
                residuals.put(s.residual(), clean.tap(TapKind.RESIDUAL, s.layer()));
            }
        }
        List<Map<String, FloatTensor>> results = new ArrayList<>(java.util.Collections.nCopies(interventions.size(), null));
        int done = 0;
        for (var e : byLayer.entrySet()) {
            int layer = e.getKey();
            List<Integer> members = e.getValue();
            try (OwnedSession suffix = cut && layer > 0 ? model.openSuffixSession(layer, TapSet.NONE, hooks) : null) {
                SessionRunner session = suffix != null ? suffix : model.session(TapSet.NONE, hooks);
                RunRequest base = input.withOutputs(new java.util.LinkedHashSet<>(outputs));
                if (cut && layer > 0) {
                    String name = sites.get(layer).residual();
                    base = base.withStates(Map.of(name, residuals.get(name)));
                }
                for (int start = 0; start < members.size(); start += batch) {
                    cancel.check();
                    List<Integer> part = members.subList(start, Math.min(members.size(), start + batch));
                    RunResult r = session.run(base.withInterventions(part.stream().map(interventions::get).toList()), cancel);
                    for (String o : outputs) {
                        FloatTensor t = r.output(o);
                        for (int j = 0; j < part.size(); j++) {
                            results.set(part.get(j), merge(results.get(part.get(j)), o, rows(t, j, part.size())));
                        }
                    }
                    done += part.size();
                    progress.accept(done, interventions.size());
                }
            }
        }
        return results;
    }

    /**
     * A sweep's readings: the clean run's output and each intervention's, {@code [1, N, V]} at the read positions.
     */
    public record Reading(FloatTensor clean, List<FloatTensor> outputs) {
    }

    /**
     * The sweep for metrics that read one output at a few positions (a loss over a target span, the next-token
     * distribution): every run computes that output only at {@code positions} ({@link HookedModel#readingSession},
     * gathered before the LM head when the graph allows it), the clean run gives both the clean reading and the
     * residual streams the layer-suffix runs start from, and the suffix sessions are cached with the model.
     */
    public static Reading read(HookedModel model, RunRequest input, List<Intervention> interventions, HookSet hooks,
                               String output, int[] positions, int batch, CancelToken cancel,
                               java.util.function.BiConsumer<Integer, Integer> progress) {
        if (input.batchSize() != 1) {
            throw new IllegalArgumentException("a sweep runs on one sequence");
        }
        FloatTensor at = new FloatTensor(new long[]{1, positions.length}, new float[positions.length]);
        for (int i = 0; i < positions.length; i++) {
            if (positions[i] < 0 || positions[i] >= input.length()) {
                throw new IllegalArgumentException("position " + positions[i] + " lies outside the " + input.length() + " tokens");
            }
            at.data()[i] = positions[i];
        }
        List<AttentionSite> sites = model.sites();
        boolean cut = sites.stream().allMatch(s -> s.residual() != null);
        Map<Integer, List<Integer>> byLayer = new TreeMap<>();
        for (int i = 0; i < interventions.size(); i++) {
            byLayer.computeIfAbsent(cut ? firstLayer(interventions.get(i)) : 0, k -> new ArrayList<>()).add(i);
        }
        List<Integer> all = java.util.stream.IntStream.range(0, sites.size()).boxed().toList();
        TapSet cleanTaps = cut ? TapSet.of(TapKind.RESIDUAL, all) : TapSet.NONE;
        RunRequest base = input.withOutputs(java.util.Set.of(output));
        RunResult clean = model.readingSession(0, cleanTaps, HookSet.NONE, output)
                .run(base.withStates(Map.of(OutputGather.POSITIONS, at)), cancel);
        List<FloatTensor> results = new ArrayList<>(java.util.Collections.nCopies(interventions.size(), null));
        int done = 0;
        for (var e : byLayer.entrySet()) {
            int layer = e.getKey();
            List<Integer> members = e.getValue();
            HookedSession session = model.readingSession(cut ? layer : 0, TapSet.NONE, hooks, output);
            Map<String, FloatTensor> states = new LinkedHashMap<>();
            states.put(OutputGather.POSITIONS, at);
            if (cut && layer > 0) {
                states.put(sites.get(layer).residual(), clean.tap(TapKind.RESIDUAL, layer));
            }
            RunRequest req = base.withStates(states);
            for (int start = 0; start < members.size(); start += batch) {
                cancel.check();
                List<Integer> part = members.subList(start, Math.min(members.size(), start + batch));
                RunResult r = session.run(req.withInterventions(part.stream().map(interventions::get).toList()), cancel);
                FloatTensor t = r.output(output);
                for (int j = 0; j < part.size(); j++) {
                    results.set(part.get(j), rows(t, j, part.size()));
                }
                done += part.size();
                progress.accept(done, interventions.size());
            }
        }
        return new Reading(clean.output(output), results);
    }

    private static Map<String, FloatTensor> merge(Map<String, FloatTensor> m, String k, FloatTensor v) {
        Map<String, FloatTensor> out = m == null ? new LinkedHashMap<>() : m;
        out.put(k, v);
        return out;
    }

    /** Batch element j of a tensor whose first axis is the batch (or a single shared element). */
    private static FloatTensor rows(FloatTensor t, int j, int batch) {
        if (t.dim(0) == 1 && batch > 1) {
            return t;
        }
        return t.slice(j).reshapeLeading();
    }

    /** The first layer an intervention edits (the layers before it are unaffected). */
    public static int firstLayer(Intervention i) {
        int l = Integer.MAX_VALUE;
        for (Intervention.Head h : i.headEdits().keySet()) {
            l = Math.min(l, h.layer());
        }
        for (Intervention.Head h : i.preEdits().keySet()) {
            l = Math.min(l, h.layer());
        }
        for (Intervention.Head h : i.postEdits().keySet()) {
            l = Math.min(l, h.layer());
        }
        for (Intervention.Head h : i.patchEdits().keySet()) {
            l = Math.min(l, h.layer());
        }
        return l == Integer.MAX_VALUE ? 0 : l;
    }
}

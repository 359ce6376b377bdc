package org.headscope.app.profile;

import org.headscope.app.attention.AttentionRunner;
import java.util.List;

import org.headscope.analysis.HeadProfile;
import org.headscope.analysis.Progress;
import org.headscope.analysis.core.Input;
import org.headscope.analysis.report.HeadReport;
import org.headscope.analysis.report.Provenance;
import org.headscope.app.panel.Scan;
import org.headscope.hooks.CancelToken;
import org.headscope.hooks.HookedModel;
import org.headscope.hooks.HsTokenizer;

/**
 * The head profile panel over the {@link HeadProfile} analysis (what it measures is documented there): the
 * workbench's prompt, tokenized as the attention view does, and the offset d.
 */
public final class HeadProfileScan implements Scan {
    @Override
    public String title() {
        return "Head profile";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(new Parameter("offset", "offset d", Integer.toString(HeadProfile.Params.DEFAULTS.offset()),
                "Score attention to the token d positions back; 1 finds previous-token heads."));
    }

    @Override
    public String defaultColumn() {
        return "first_token";
    }

    @Override
    public HeadReport run(HookedModel model, String prompt, Values values, Progress progress, CancelToken cancel) {
        HeadProfile.Params params = HeadProfile.Params.DEFAULTS.withOffset(values.integer("offset"));
        HsTokenizer.Tokens tokens = AttentionRunner.tokenize(model, prompt);
        return HeadProfile.run(model, Input.of(model, tokens, null), params, progress, cancel)
                .toReport(Provenance.of(model, prompt, HeadProfile.METRICS));
    }
}

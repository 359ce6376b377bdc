package org.headscope.app.cli;

import org.headscope.app.export.Png;
import org.headscope.app.export.Svg;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javafx.application.Platform;
import javafx.stage.Stage;
import org.headscope.app.workbench.Workbench;
import org.headscope.app.workbench.WorkbenchView;
import org.headscope.app.workbench.WorkbenchViewModel;
import org.headscope.app.Cli;
import org.headscope.app.util.CurrentThreadTaskExecutor;
import org.headscope.app.util.Message;
import org.headscope.app.util.Settings;
import org.headscope.assets.BundledModels;
import org.headscope.hooks.Intervention.Head;

/**
 * Renders the workbench off-screen (JavaFX's Headless platform, software rendering) on a model and prompt, and
 * writes the window as a PNG at 1x, 2x or 4x (and, with --svg, --pdf or --map, the attention map as an SVG, PDF or PNG figure): the README's
 * screenshots are made by this command, never by hand. A --panel that is not a panel title exits 2 with the titles.
 */
public final class ScreenshotCommand implements Command {
    /** The figures export-figure writes. */
    static final List<String> FIGURES = List.of("map", "scores", "plot");

    private final boolean figureOnly;

    /** The screenshot command: the window as a PNG. */
    public ScreenshotCommand() {
        this(false);
    }

    private ScreenshotCommand(boolean figureOnly) {
        this.figureOnly = figureOnly;
    }

    /**
     * The export-figure command: the same options, but it writes one figure (the map, the active panel's head-score
     * heat map, or its plot) as SVG, PDF or PNG, chosen by the file's extension, instead of the window.
     */
    public static ScreenshotCommand exportFigure() {
        return new ScreenshotCommand(true);
    }

    @Override
    public String name() {
        return figureOnly ? "export-figure" : "screenshot";
    }

    @Override
    public String usage() {
        return (figureOnly ? "export-figure FILE.svg|FILE.pdf|FILE.png [--figure map|scores|plot]" : "screenshot FILE.png") + " [--model NAME|PATH] [--text TEXT] [--layer L] [--head H] [--ablate 1.2,3.4] "
                + "[--log] [--last-row] [--image FILE] [--panel TITLE] [--width 1360] [--height 860] [--scale 1|2|4] [--svg MAP.svg] [--pdf MAP.pdf] [--map MAP.png]";
    }

    @Override
    public String summary() {
        return figureOnly ? "render the workbench off-screen and save one figure (map, head scores or panel plot) as SVG, PDF or PNG"
                : "render the workbench off-screen and save the window as a PNG";
    }

    @Override
    public java.util.Set<String> flags() {
        return java.util.Set.of("log", "last-row");
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path file;
        try {
            file = org.headscope.app.util.UserPaths.resolve(args.positional(0, figureOnly ? "FILE.svg|FILE.pdf|FILE.png" : "FILE.png"));
        } catch (IllegalArgumentException e) {
            throw new org.headscope.app.cli.UsageException("FILE: " + e.getMessage());
        }
        String format = extension(file);
        String figure = figureOnly ? args.string("figure", "map") : null;
        if (figureOnly) {
            if (!List.of("svg", "pdf", "png").contains(format)) {
                throw new org.headscope.app.cli.UsageException("the figure's file must end in .svg, .pdf or .png, got '" + file.getFileName() + "'");
            }
            if (!FIGURES.contains(figure)) {
                throw new org.headscope.app.cli.UsageException("--figure must be one of " + FIGURES + ", got '" + figure + "'");
            }
            if (format.equals("png") && !figure.equals("map")) {
                throw new org.headscope.app.cli.UsageException("a PNG is written of the map only; write the " + figure + " figure as .svg or .pdf");
            }
            if (!figure.equals("map") && !args.has("panel")) {
                throw new org.headscope.app.cli.UsageException("--figure " + figure + " belongs to a panel: give --panel TITLE to run it");
            }
        }
        org.headscope.analysis.report.OutputTarget.file(file).close();
        String typedModel = args.string("model", BundledModels.MINILM);
        String model = BundledModels.available().contains(typedModel) ? typedModel : ModelArgs.resolve(typedModel).toString();
        String text = args.string("text", null);
        boolean layerGiven = args.has("layer");
        boolean headGiven = args.has("head");
        int layer = args.integer("layer", 2);
        int head = args.integer("head", 3);
        if (layer < 0 || head < 0) {
            throw new org.headscope.app.cli.UsageException("--layer and --head count from 0");
        }
        List<String> ablate = args.has("ablate") ? List.of(args.require("ablate").split(",")) : List.of();
        boolean log = args.flag("log");
        boolean lastRow = args.flag("last-row");
        String panel = args.string("panel", null);
        Path imageFile = args.existingFile("image");
        String image = imageFile == null ? "" : imageFile.toString();
        double width = args.integer("width", 1360);
        double height = args.integer("height", 860);
        int scale = args.integer("scale", 1);
        if (scale != 1 && scale != 2 && scale != 4) {
            throw new org.headscope.app.cli.UsageException("--scale must be 1, 2 or 4, got " + scale);
        }
        Path svg;
        try {
            svg = args.has("svg") ? org.headscope.app.util.UserPaths.resolve(args.require("svg")) : null;
        } catch (IllegalArgumentException e) {
            throw new org.headscope.app.cli.UsageException("--svg: " + e.getMessage());
        }
        Path pdf;
        try {
            pdf = args.has("pdf") ? org.headscope.app.util.UserPaths.resolve(args.require("pdf")) : null;
        } catch (IllegalArgumentException e) {
            throw new org.headscope.app.cli.UsageException("--pdf: " + e.getMessage());
        }
        Path mapPng;
        try {
            mapPng = args.has("map") ? org.headscope.app.util.UserPaths.resolve(args.require("map")) : null;
        } catch (IllegalArgumentException e) {
            throw new org.headscope.app.cli.UsageException("--map: " + e.getMessage());
        }
        List<String> panels = WorkbenchViewModel.builtInPanels();
        if (panel != null && !panels.contains(panel)) {
            throw new org.headscope.app.cli.UsageException("--panel '" + panel + "' is not a panel; panels: " + String.join(", ", panels));
        }
        args.rejectUnknown();
        System.setProperty("glass.platform", "Headless");
        System.setProperty("prism.order", "sw");
        CompletableFuture<Message> done = new CompletableFuture<>();
        Platform.startup(() -> {
            try {
                Settings settings = Settings.inMemory();
                settings.put("width", width);
                settings.put("height", height);
                settings.put("model", model);
                if (text != null) {
                    settings.put("prompt", text);
                }
                WorkbenchViewModel vm = new WorkbenchViewModel(new CurrentThreadTaskExecutor(), settings);
                vm.attention().scaleProperty().set(log ? org.headscope.app.attention.ColourScale.LOG
                        : org.headscope.app.attention.ColourScale.LINEAR);
                vm.attention().imagePathProperty().set(image);
                WorkbenchView view = Workbench.show(new Stage(), vm);
                view.attentionView().heatmap().showLastRowProperty().set(lastRow);
                vm.start();
                for (String h : ablate) {
                    vm.ablation().heads().add(Head.parse(h));
                }
                if (!ablate.isEmpty()) {
                    vm.attention().run();
                }
                if (panel != null) {
                    view.selectPanel(panel);
                    vm.scans().stream().filter(s -> s.scan().title().equals(panel)).findFirst()
                            .ifPresent(s -> s.run(vm.attention().promptProperty().get()));
                    if (panel.equals("Redistribution")) {
                        vm.redistribution().run(vm.attention().promptProperty().get(), vm.attention().imagePathProperty().get());
                    }
                }
                org.headscope.app.attention.AttentionRun shown = vm.attention().runProperty().get();
                if (shown != null) {
                    if (layer >= shown.layers() || head >= shown.heads()) {
                        if (layerGiven || headGiven) {
                            done.complete(new Message("Head " + layer + "." + head + " does not exist: the model has "
                                    + shown.layers() + " layers of " + shown.heads() + " heads.",
                                    "Give --layer 0.." + (shown.layers() - 1) + " and --head 0.." + (shown.heads() - 1) + ".", true));
                            return;
                        }
                    }
                    vm.attention().layerProperty().set(Math.min(layer, shown.layers() - 1));
                    vm.attention().headProperty().set(Math.min(head, shown.heads() - 1));
                }
                Message m = vm.messageProperty().get();
                if (m != null && m.error()) {
                    done.complete(m);
                    return;
                }
                view.applyCss();
                view.layout();
                // a second pass lets panes that size themselves from the first layout (the map's cells) settle
                view.applyCss();
                view.layout();
                if (figureOnly) {
                    try {
                        writeFigure(view, figure, format, scale, file);
                    } catch (IllegalStateException nothing) {
                        // the figure does not exist for this run (no panel result, no plot in that panel)
                        vm.close();
                        done.complete(new Message("No " + figure + " figure to write: " + nothing.getMessage() + ".",
                                "Choose a --panel whose result has that figure, or --figure map.", true));
                        return;
                    }
                } else {
                    Png.write(view, scale, file);
                }
                if (svg != null) {
                    Svg.write(view.mapSvg(), svg);
                }
                if (pdf != null) {
                    org.headscope.app.export.Pdf.write(view.mapSvg(), pdf);
                }
                if (mapPng != null) {
                    Png.write(view.attentionView().heatmap().exportFigure(), scale, mapPng);
                }
                vm.close();
                done.complete(null);
            } catch (Exception e) {
                done.completeExceptionally(e);
            }
        });
        try {
            Message m = done.get(5, TimeUnit.MINUTES);
            if (m != null) {
                err.println("headscope " + name() + ": " + m);
                return ExitCode.MODEL.code();
            }
        } finally {
            Platform.exit();
        }
        err.println("wrote " + file);
        return ExitCode.OK.code();
    }

    private static String extension(Path file) {
        String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1);
    }

    private static void writeFigure(WorkbenchView view, String figure, String format, int scale, Path file) throws java.io.IOException {
        if (format.equals("png")) {
            Png.write(view.attentionView().heatmap().exportFigure(), scale, file);
            return;
        }
        String svg = switch (figure) {
            case "scores" -> view.scoresSvg();
            case "plot" -> view.plotSvg();
            default -> view.mapSvg();
        };
        if (format.equals("pdf")) {
            org.headscope.app.export.Pdf.write(svg, file);
        } else {
            Svg.write(svg, file);
        }
    }
}

package org.headscope.app.arch;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module rules of docs/ARCHITECTURE.md, checked on the compiled classes: dependencies point one way
 * (app -> analysis -> onnx-hooks), nothing below the app knows JavaFX, the engine and the analyses work without the
 * bundled-models jar (the app alone depends on it), and the engine's packages form no cycle.
 */
class ModuleRulesTest {
    private static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.headscope");
        assertTrue(classes.stream().anyMatch(c -> c.getPackageName().equals("org.headscope.hooks")), "engine classes imported");
        assertTrue(classes.stream().anyMatch(c -> c.getPackageName().startsWith("org.headscope.analysis")), "analysis classes imported");
    }

    @Test
    void engineAndAnalysesKnowNeitherTheAppNorJavaFx() {
        noClasses().that().resideInAnyPackage("org.headscope.hooks..", "org.headscope.analysis..")
                .should().dependOnClassesThat().resideInAnyPackage("org.headscope.app..", "javafx..", "org.controlsfx..")
                .check(classes);
    }

    @Test
    void theEngineDoesNotDependOnTheAnalyses() {
        noClasses().that().resideInAPackage("org.headscope.hooks..")
                .should().dependOnClassesThat().resideInAPackage("org.headscope.analysis..")
                .check(classes);
    }

    @Test
    void theEngineOpensModelsWithoutTheBundledModelsJar() {
        noClasses().that().resideInAPackage("org.headscope.hooks..")
                .should().dependOnClassesThat().resideInAPackage("org.headscope.assets..")
                .check(classes);
    }

    @Test
    void theAnalysesTakeTheirDataFromTheCaller() {
        noClasses().that().resideInAPackage("org.headscope.analysis..")
                .should().dependOnClassesThat().resideInAPackage("org.headscope.assets..")
                .check(classes);
    }

    @Test
    void theSharedAnalysisLayerKnowsNoAnalysis() {
        noClasses().that().resideInAPackage("org.headscope.analysis.core..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.headscope.analysis.core..", "org.headscope.hooks..",
                        "java..", "ai.onnxruntime..")
                .check(classes);
    }

    @Test
    void engineAndAnalysisPackagesFormNoCycle() {
        JavaClasses engine = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.headscope.hooks", "org.headscope.analysis");
        slices().matching("org.headscope.(**)").should().beFreeOfCycles().check(engine);
    }

    @Test
    void appPackagesFormNoCycle() {
        JavaClasses app = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.headscope.app");
        slices().matching("org.headscope.(**)").should().beFreeOfCycles().check(app);
    }

    @Test
    void nothingDependsOnTheEntryPoints() {
        noClasses().that().resideInAPackage("org.headscope.app.*..")
                .should().dependOnClassesThat().resideInAPackage("org.headscope.app")
                .check(classes);
    }
}

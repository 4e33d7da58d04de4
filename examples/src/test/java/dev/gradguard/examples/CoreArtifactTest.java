package dev.gradguard.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The core artifact an application depends on: a named module, the library's packages only, lean dependencies. */
class CoreArtifactTest {
    private static final Path ROOT = Path.of(System.getProperty("gradguard.root", "..")).toAbsolutePath().normalize();

    private static Path coreJar() throws Exception {
        try (Stream<Path> s = Files.list(ROOT.resolve("gradguard-core/target"))) {
            return s.filter(p -> p.getFileName().toString().matches("gradguard-core-[^-]+(-SNAPSHOT)?\\.jar"))
                    .findFirst().orElseThrow(() -> new AssertionError("gradguard-core's jar is not built"));
        }
    }

    @Test
    void theCoreJarIsANamedModuleThatExportsOnlyTheLibrary() throws Exception {
        ModuleReference ref = ModuleFinder.of(coreJar()).findAll().iterator().next();
        ModuleDescriptor d = ref.descriptor();
        assertEquals("dev.gradguard.core", d.name());
        assertTrue(!d.isAutomatic(), "a module-info, not an automatic module");
        Set<String> exports = d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
        assertTrue(exports.containsAll(Set.of("dev.gradguard.clip", "dev.gradguard.session", "dev.gradguard.train")), exports.toString());
        for (String cliPackage : List.of("cli", "serve", "report", "bench", "compare", "run", "task", "doctor")) {
            assertTrue(exports.stream().noneMatch(e -> e.equals("dev.gradguard." + cliPackage)), cliPackage + ": " + exports);
            assertTrue(d.packages().stream().noneMatch(p -> p.equals("dev.gradguard." + cliPackage)), cliPackage + " is not in core");
        }
        Set<String> requires = d.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertTrue(requires.stream().noneMatch(r -> r.contains("picocli") || r.contains("yaml") || r.contains("jfree")
                || r.contains("httpserver")), requires.toString());
    }

    @Test
    void theCoresRuntimeDependenciesAreTheBindingsAndOneJsonLibrary() throws Exception {
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("gradguard-core/pom.xml").toFile());
        Element dependencies = (Element) doc.getDocumentElement().getElementsByTagName("dependencies").item(0);
        NodeList list = dependencies.getElementsByTagName("dependency");
        List<String> runtime = new ArrayList<>();
        for (int i = 0; i < list.getLength(); i++) {
            Element dep = (Element) list.item(i);
            NodeList scope = dep.getElementsByTagName("scope");
            String s = scope.getLength() == 0 ? "compile" : scope.item(0).getTextContent().trim();
            if (s.equals("compile") || s.equals("runtime")) {
                runtime.add(dep.getElementsByTagName("groupId").item(0).getTextContent().trim() + ":"
                        + dep.getElementsByTagName("artifactId").item(0).getTextContent().trim());
            }
        }
        assertEquals(List.of("org.bytedeco:pytorch", "org.bytedeco:javacpp", "org.bytedeco:openblas",
                "com.fasterxml.jackson.core:jackson-databind"), runtime);
    }
}

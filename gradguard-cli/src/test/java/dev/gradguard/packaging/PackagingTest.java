package dev.gradguard.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The Dockerfiles and the CI workflow hold together: they parse, and everything they name is in the repository. */
class PackagingTest {
    private static final Path ROOT = Path.of(System.getProperty("gradguard.root", "..")).toAbsolutePath().normalize();
    private static final Set<String> KEYWORDS = Set.of("FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY",
            "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER");

    /** One instruction: its keyword and its arguments, continuation lines joined. */
    record Instruction(String keyword, String args) {
    }

    static List<Instruction> parse(Path dockerfile) throws IOException {
        List<Instruction> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : Files.readAllLines(dockerfile)) {
            String line = raw.strip();
            if (line.startsWith("#") || (line.isEmpty() && current.isEmpty())) {
                continue;
            }
            boolean continues = line.endsWith("\\");
            current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
            if (!continues) {
                String text = current.toString().strip();
                int space = text.indexOf(' ');
                out.add(new Instruction(space < 0 ? text : text.substring(0, space), space < 0 ? "" : text.substring(space + 1)));
                current.setLength(0);
            }
        }
        assertTrue(current.isEmpty(), dockerfile + " ends inside a continued line");
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.ssh", "Dockerfile.jupyter"})
    void dockerfilesParseAndCopyOnlyWhatTheRepositoryHolds(String name) throws IOException {
        List<Instruction> instructions = parse(ROOT.resolve("docker").resolve(name));
        int firstFrom = -1;
        for (int i = 0; i < instructions.size(); i++) {
            Instruction in = instructions.get(i);
            assertTrue(KEYWORDS.contains(in.keyword()), name + ": unknown instruction " + in.keyword());
            if (in.keyword().equals("FROM") && firstFrom < 0) {
                firstFrom = i;
            }
        }
        assertTrue(firstFrom >= 0, name + " has no FROM");
        for (int i = 0; i < firstFrom; i++) {
            assertEquals("ARG", instructions.get(i).keyword(), name + ": only ARG may come before the first FROM");
        }
        for (Instruction in : instructions) {
            if ((in.keyword().equals("COPY") || in.keyword().equals("ADD")) && !in.args().contains("--from=")) {
                String[] parts = in.args().split("\\s+");
                for (int i = 0; i < parts.length - 1; i++) {
                    assertTrue(Files.exists(ROOT.resolve(parts[i])), name + ": COPY source " + parts[i] + " is not in the repository");
                }
            }
        }
    }

    @Test
    void theRuntimeImageBuildsTheGpuProfileOnCuda131WithCudnnAndNccl() throws IOException {
        String text = Files.readString(ROOT.resolve("docker/Dockerfile"));
        assertTrue(text.contains("FROM nvidia/cuda:13.1.1-cudnn-runtime-ubuntu24.04"), text);
        assertTrue(text.contains("-Pgpu -DskipTests package"), text);
        assertTrue(text.contains("libnccl2") && text.contains("openjdk-17-jre-headless"), text);
    }

    @Test
    void sshForbidsPasswordsAndRootAndLogsInANonRootUser() throws IOException {
        Map<String, String> conf = new HashMap<>();
        for (String line : Files.readAllLines(ROOT.resolve("docker/sshd_config.d/gradguard.conf"))) {
            String l = line.strip();
            if (!l.isEmpty() && !l.startsWith("#")) {
                String[] kv = l.split("\\s+", 2);
                conf.put(kv[0], kv[1]);
            }
        }
        assertEquals("no", conf.get("PasswordAuthentication"));
        assertEquals("no", conf.get("PermitRootLogin"));
        assertEquals("no", conf.get("KbdInteractiveAuthentication"));
        assertEquals("no", conf.get("PermitEmptyPasswords"));
        assertEquals("gradguard", conf.get("AllowUsers"));
        List<Instruction> ssh = parse(ROOT.resolve("docker/Dockerfile.ssh"));
        String all = ssh.stream().map(i -> i.keyword() + " " + i.args()).reduce("", (a, b) -> a + "\n" + b);
        assertTrue(all.contains("useradd --create-home --shell /bin/bash --uid \"${USER_UID}\" gradguard"), all);
        Matcher uid = Pattern.compile("ARG USER_UID=(\\d+)").matcher(all);
        assertTrue(uid.find() && Integer.parseInt(uid.group(1)) > 0, "the login user's uid must not be 0");
        assertTrue(all.contains("COPY docker/sshd_config.d/gradguard.conf /etc/ssh/sshd_config.d/"), all);
        assertTrue(all.contains("/home/gradguard/.ssh"), all);
        assertFalse(all.contains("chpasswd"), "no password is set");
        assertTrue(all.contains("rm -f /etc/ssh/ssh_host_*"), "no host keys baked into the image");
    }

    @Test
    void theJupyterUserHasTheHostsUsualUidAndTheNativesStayInTheImage() throws IOException {
        String all = parse(ROOT.resolve("docker/Dockerfile.jupyter")).stream().map(i -> i.keyword() + " " + i.args())
                .reduce("", (a, b) -> a + "\n" + b);
        assertTrue(all.contains("userdel -r ubuntu"), "the base image's uid-1000 user goes: " + all);
        assertTrue(all.contains("--uid \"${USER_UID}\" notebook") && all.contains("ARG USER_UID=1000"), all);
        assertTrue(all.contains("-Dorg.bytedeco.javacpp.cachedir=/var/cache/javacpp"), all);
        Matcher pip = Pattern.compile("pip install[^&]*").matcher(all);
        assertTrue(pip.find(), all);
        for (String arg : pip.group().split("\\s+")) {
            if (!arg.startsWith("-") && !arg.equals("pip") && !arg.equals("install") && !arg.contains("/")) {
                assertTrue(arg.contains("=="), "unpinned Python package " + arg);
            }
        }
        String ssh = Files.readString(ROOT.resolve("docker/Dockerfile.ssh"));
        assertTrue(ssh.contains("openjdk-17-jdk-headless"), "jshell for 'gradguard shell' in the SSH image");
    }

    @Test
    void theWorkflowParsesAndEverythingItNamesExists() throws IOException {
        JsonNode wf = new YAMLMapper().readTree(ROOT.resolve(".github/workflows/ci.yml").toFile());
        JsonNode on = wf.has("on") ? wf.get("on") : wf.get("true"); // YAML 1.1 reads a bare 'on' as true
        assertTrue(on.has("push") && on.has("pull_request"), wf.toString());
        assertEquals("v*", on.get("push").get("tags").get(0).asText());
        JsonNode verify = wf.get("jobs").get("verify");
        assertTrue(verify.toString().contains("mvn -B verify"), verify.toString());
        assertTrue(verify.toString().contains("\"java-version\":\"17\""), verify.toString());
        List<String> images = new ArrayList<>();
        Pattern repoPath = Pattern.compile("(?:^|\\s)((?:bin|\\.ci|docker|scripts)/[\\w./-]+)");
        for (JsonNode job : wf.get("jobs")) {
            for (JsonNode step : job.get("steps")) {
                if (step.has("uses")) {
                    assertTrue(step.get("uses").asText().matches("[\\w-]+/[\\w-]+@[0-9a-f]{40}"),
                            "action not pinned to a full commit SHA: " + step.get("uses"));
                }
                JsonNode with = step.path("with");
                if (with.has("file")) {
                    assertTrue(Files.exists(ROOT.resolve(with.get("file").asText())), "missing " + with.get("file"));
                    images.add(with.get("file").asText());
                    assertEquals(".", with.get("context").asText());
                    assertTrue(step.get("uses").asText().startsWith("docker/build-push-action@"));
                }
                if (step.has("run")) {
                    Matcher m = repoPath.matcher(step.get("run").asText());
                    while (m.find()) {
                        assertTrue(Files.isExecutable(ROOT.resolve(m.group(1))), "run names missing " + m.group(1));
                    }
                }
            }
        }
        assertEquals(List.of("docker/Dockerfile", "docker/Dockerfile.ssh", "docker/Dockerfile.jupyter"), images);
        for (String line : Files.readAllLines(ROOT.resolve(".github/workflows/ci.yml"))) {
            if (line.strip().matches("-?\\s*uses:.*")) {
                assertTrue(line.matches(".*@[0-9a-f]{40} # v\\d+\\.\\d+\\.\\d+"), "a pinned action names its release: " + line);
            }
        }
        JsonNode imageJob = wf.get("jobs").get("images");
        assertTrue(!imageJob.has("if"), "images are built on every push and pull request, not only for tags");
        assertTrue(imageJob.get("env").get("PUSH").asText().contains("refs/tags/v"), "pushed only for a version tag");
        int smokes = 0;
        for (JsonNode step : imageJob.get("steps")) {
            if (step.path("with").has("file")) {
                assertTrue(step.get("with").get("cache-from").asText().startsWith("type=gha"), step.toString());
                assertTrue(step.get("with").get("load").asBoolean(), "loaded for the smoke: " + step);
            }
            if (step.has("run") && step.get("run").asText().startsWith("docker run --rm") && step.get("run").asText().endsWith("doctor")) {
                smokes++;
            }
        }
        assertEquals(3, smokes, "every image is smoked with doctor");
        assertTrue(Files.exists(ROOT.resolve("pom.xml")));
    }
}

package dev.gradguard.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.metrics.Json;
import dev.gradguard.session.SessionResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every example of docs/library.md runs and does what the guide says it does. */
class ExamplesTest {
    @TempDir
    Path tmp;

    @Test
    void dropInClippingMatchesLibtorchsOwnClipGradNormStepForStep() {
        DropInClipping.Result ours = DropInClipping.train(50, 3);

        // the same loop with libtorch's own torch::nn::utils::clip_grad_norm_
        torch.manual_seed(3);
        DropInClipping.Mlp model = new DropInClipping.Mlp();
        SGD optimizer = new SGD(model.parameters(), new SGDOptions(0.5));
        List<Double> reference = new ArrayList<>();
        for (int step = 0; step < 50; step++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor x = torch.randn(64, 4).mul(new Scalar(2.0));
                Tensor y = x.sum(1).unsqueeze(1);
                optimizer.zero_grad();
                torch.mse_loss(model.forward(x), y).backward();
                reference.add(torch.clip_grad_norm_(model.parameters(), 1.0));
                optimizer.step();
            }
        }
        for (int i = 0; i < 50; i++) {
            assertEquals(reference.get(i), ours.preClipNorms().get(i), 1e-5 * reference.get(i), "step " + i);
        }
        assertTrue(ours.preClipNorms().get(0) > 1.0, "the first steps are clipped: " + ours.preClipNorms().get(0));
        assertTrue(ours.lastLoss() < ours.firstLoss() / 5, ours.firstLoss() + " -> " + ours.lastLoss());
    }

    @Test
    void guardedSessionsLearnAndWriteMetricsAndTensorBoard() throws Exception {
        Map<String, SessionResult> results = GuardedSession.train(tmp);
        SessionResult mlp = results.get("mlp");
        assertEquals(300, mlp.outcome().steps());
        List<String> lines = Files.readAllLines(tmp.resolve("mlp/metrics.jsonl"));
        assertEquals(300, lines.size());
        double firstLoss = Json.compact().readTree(lines.get(0)).get("loss").asDouble();
        assertTrue(mlp.outcome().finalLoss() < firstLoss / 5, firstLoss + " -> " + mlp.outcome().finalLoss());
        assertTrue(mlp.paramsFinite());

        SessionResult conv = results.get("convnet");
        assertTrue(conv.evaluation().orElseThrow().learned(), conv.sentence());
        for (String run : List.of("mlp", "convnet")) {
            try (Stream<Path> s = Files.list(tmp.resolve(run))) {
                assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents.")), run);
            }
            assertTrue(Files.isRegularFile(tmp.resolve(run).resolve("summary.json")), run);
        }
    }

    @Test
    void aStoppedRunResumesToTheUninterruptedRunsWeights() throws Exception {
        Map<String, SessionResult> r = CheckpointAndResume.compare(tmp);
        assertEquals(26, r.get("first").outcome().steps(), "stopped after step 25");
        assertEquals(26L, r.get("resumed").resumedFromStep().orElseThrow());
        assertEquals(60, r.get("resumed").outcome().steps());
        assertEquals(r.get("straight").paramChecksum(), r.get("resumed").paramChecksum());
        assertEquals(60, Files.readAllLines(tmp.resolve("interrupted/metrics.jsonl")).size(), "every step once");
    }

    @Test
    void twoWorkersLaunchedFromJavaEndWithTheSameWeights() throws Exception {
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Path run = tmp.resolve("dp");
        dev.gradguard.dist.LaunchResult result = DataParallelFromJava.launch(run, port);
        assertTrue(result.succeeded(), result.message());
        var summary = Json.compact().readTree(run.resolve("summary.json").toFile());
        assertEquals(40, summary.get("steps").asInt());
        assertEquals(2, summary.get("world_size").asInt());
        var checksums = summary.get("rank_param_checksums");
        assertEquals(2, checksums.size());
        assertEquals(checksums.get(0).asText(), checksums.get(1).asText(), "the ranks stayed in step");
        assertEquals(summary.get("param_checksum").asText(), checksums.get(0).asText());
        assertEquals(40, Files.readAllLines(run.resolve("metrics.jsonl")).size(), "rank 0 alone writes");
    }
}

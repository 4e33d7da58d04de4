package dev.gradguard.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.data.Batch;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.CharTransformer;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.TransformerEncoderNet;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TransformerTasksTest {
    private static Path tiny;

    @BeforeAll
    static void load() throws URISyntaxException {
        Torch.load();
        tiny = Path.of(TransformerTasksTest.class.getResource("/charlm/tiny.txt").toURI());
    }

    @Test
    void everyTaskOffersATransformerLast() {
        TaskOptions options = TaskOptions.defaults();
        assertEquals(List.of("gru", "lstm", "rnn", "transformer"), Tasks.create("temporal-order", options).models());
        assertEquals(List.of("gru", "lstm", "rnn", "transformer"), Tasks.create("adding", options).models());
        assertEquals(List.of("lstm", "transformer"), Tasks.create("charlm", options.withDataPath(tiny)).models());
    }

    @Test
    void charlmsTransformerIsACausalDecoderOverTheWindowWithTheTasksDefaultSize() {
        CharLmTask task = new CharLmTask(TaskOptions.defaults().withDataPath(tiny).withSeqLen(16));
        CharTransformer lm = assertInstanceOf(CharTransformer.class, task.createModel("transformer"));
        assertEquals(16, lm.maxLength());
        assertEquals(task.vocabularySize(), lm.vocabulary());
        Parameters p = Parameters.of(lm.module());
        assertArrayEquals(new long[] {task.vocabularySize(), 64}, p.get(0).sizes().vec().get(), "width 64");
        assertEquals(2 + 2 * 12 + 2, p.size(), "2 blocks");
        torch.manual_seed(1);
        Batch batch = task.trainingData(1, 3).next();
        Model model = task.createModel("transformer");
        assertEquals(batch.target().size(0), model.forward(batch.input()).size(0));
        assertEquals(Math.log(task.vocabularySize()), task.loss(model.forward(batch.input()), batch.target()).item_double(), 0.1,
                "GPT-2's small initial weights predict about uniformly");
    }

    @Test
    void hiddenLayersAndHeadsSizeTheTransformer() {
        TaskOptions options = TaskOptions.defaults().withHidden(12).withLayers(3).withHeads(3);
        Task task = Tasks.create("adding", options);
        TransformerEncoderNet net = assertInstanceOf(TransformerEncoderNet.class, task.createModel("transformer"));
        Parameters p = Parameters.of(net.module());
        assertEquals(List.of(12L, 2L), List.of(p.get(0).size(0), p.get(0).size(1)), "input map 2 -> 12");
        assertEquals(3 + 3 * 12 + 4, p.size(), "3 blocks");
        assertEquals(30, net.maxLength(), "positions for the task's length");
        Batch batch = task.trainingData(2, 5).next();
        assertArrayEquals(new long[] {5, 1}, net.forward(batch.input()).sizes().vec().get());

        Task temporal = Tasks.create("temporal-order", TaskOptions.defaults());
        Model defaultSize = temporal.createModel("transformer");
        assertEquals(32, Parameters.of(defaultSize.module()).get(0).size(0), "width 32 by default");
        assertArrayEquals(new long[] {4, 4}, defaultSize.forward(temporal.trainingData(3, 4).next().input()).sizes().vec().get());
    }

    @Test
    void sizesThatDoNotFitAreRefusedNamingTheSettings() {
        Task indivisible = Tasks.create("adding", TaskOptions.defaults().withHidden(30));
        assertEquals("'hidden' 30 must be divisible by 'heads' 4 for model transformer",
                assertThrows(IllegalArgumentException.class, () -> indivisible.createModel("transformer")).getMessage());
        Task layered = Tasks.create("charlm", TaskOptions.defaults().withDataPath(tiny).withLayers(3));
        assertEquals("'layers' and 'heads' size model transformer only, not lstm (task charlm)",
                assertThrows(IllegalArgumentException.class, () -> layered.createModel("lstm")).getMessage());
    }

    @Test
    void theTransformerTrainsWithAdamWAndAWarmUpUnlessSetAndCharlmForItsCalibratedSteps() {
        assertEquals(Map.of("optimizer", "adamw", "lr", 3e-3, "schedule", "warmup:30", "batch-size", 32L, "steps", 300L),
                Tasks.trainingDefaults("charlm", "transformer"));
        assertEquals(Map.of("optimizer", "adamw", "lr", 3e-3, "schedule", "warmup:30"),
                Tasks.trainingDefaults("temporal-order", "transformer"));
        assertEquals(Map.of(), Tasks.trainingDefaults("charlm", "lstm"));
        assertEquals(Map.of(), Tasks.trainingDefaults("charlm", "auto"));
        assertEquals(Map.of(), Tasks.trainingDefaults("copy", "transformer"));
    }
}

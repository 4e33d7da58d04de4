package dev.gradguard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.CharLstm;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.RecurrentNet;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TasksTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void namesListTheBuiltInTasksDefaultFirst() {
        assertEquals(List.of("temporal-order", "adding", "charlm"), Tasks.names());
    }

    @Test
    void createBuildsEachTaskUnderItsName() throws URISyntaxException {
        Path tiny = Path.of(TasksTest.class.getResource("/charlm/tiny.txt").toURI());
        for (String name : Tasks.names()) {
            TaskOptions options = name.equals("charlm") ? TaskOptions.defaults().withDataPath(tiny) : TaskOptions.defaults();
            assertEquals(name, Tasks.create(name, options).name());
        }
    }

    @Test
    void aDataFileForATaskThatGeneratesItsOwnDataIsRefused() throws URISyntaxException {
        Path tiny = Path.of(TasksTest.class.getResource("/charlm/tiny.txt").toURI());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tasks.create("adding", TaskOptions.defaults().withDataPath(tiny)));
        assertEquals("task adding generates its own data and reads no data file; --data " + tiny + " is for task charlm",
                e.getMessage());
    }

    @Test
    void unknownTaskNamesTheAllowedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tasks.create("copy", TaskOptions.defaults()));
        assertEquals("unknown task 'copy', allowed: temporal-order, adding, charlm", e.getMessage());
    }

    @Test
    void syntheticTasksBuildEveryCellDefaultGruWithTheConfiguredHiddenSize() {
        Task task = Tasks.create("temporal-order", TaskOptions.defaults().withHidden(20));
        assertEquals(List.of("gru", "lstm", "rnn", "transformer"), task.models());
        for (String model : List.of("gru", "lstm", "rnn")) {
            RecurrentNet net = (RecurrentNet) task.createModel(model);
            assertEquals(RecurrentNet.Cell.of(model), net.cell());
            Parameters p = Parameters.of(net.module());
            assertEquals(6, p.get(0).size(1), "weight_ih reads 6 one-hot symbols");
            assertEquals(20, p.get(1).size(1), "weight_hh is hidden wide");
            assertEquals(4, p.get(4).size(0), "the head gives 4 classes");
        }
        RecurrentNet adding = (RecurrentNet) Tasks.create("adding", TaskOptions.defaults()).createModel("gru");
        assertEquals(32, Parameters.of(adding.module()).get(1).size(1));
    }

    @Test
    void unknownModelNamesTheAllowedOnes() {
        Task task = Tasks.create("adding", TaskOptions.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> task.createModel("cnn"));
        assertEquals("unknown model 'cnn' for task adding, allowed: gru, lstm, rnn, transformer", e.getMessage());
    }

    @Test
    void charlmBuildsAnLstmLanguageModel() throws URISyntaxException {
        Path tiny = Path.of(TasksTest.class.getResource("/charlm/tiny.txt").toURI());
        Task task = Tasks.create("charlm", TaskOptions.defaults().withDataPath(tiny));
        assertEquals(List.of("lstm", "transformer"), task.models());
        CharLstm lm = assertInstanceOf(CharLstm.class, task.createModel("lstm"));
        assertEquals(((CharLmTask) task).vocabularySize(), lm.vocabulary());
        assertThrows(IllegalArgumentException.class, () -> task.createModel("gru"));
    }

    @Test
    void optionsRejectNonPositiveNumbersNamingTheField() {
        assertEquals("length must be at least 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> TaskOptions.defaults().withLength(0)).getMessage());
        assertEquals("hidden must be at least 1, got -3", assertThrows(IllegalArgumentException.class,
                () -> TaskOptions.defaults().withHidden(-3)).getMessage());
        assertEquals("evalSamples must be at least 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> TaskOptions.defaults().withEvalSamples(0)).getMessage());
        assertEquals("seqLen must be at least 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> TaskOptions.defaults().withSeqLen(0)).getMessage());
    }

    @Test
    void defaultsLeaveLengthAndHiddenToTheTaskWithEval10000AndWindow64() {
        TaskOptions d = TaskOptions.defaults();
        assertEquals(true, d.length().isEmpty());
        assertEquals(10_000, d.evalSamples());
        assertEquals(64, d.seqLen());
        assertEquals(true, d.hidden().isEmpty());
        assertEquals(true, d.dataPath().isEmpty());
    }
}

package dev.gradguard.cli;

import dev.gradguard.run.WeightsExport;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code gradguard export}: a run's weights as a file PyTorch loads. */
@Command(name = "export",
        header = "Write a run's weights as a safetensors file that PyTorch loads.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Write a run's weights as a safetensors file that PyTorch loads.",
            "The names are the model's named_parameters() names, float32 stays float32, and the metadata holds the "
                + "task, the model and the run's config. In Python: model.load_state_dict("
                + "safetensors.torch.load_file(FILE), strict=True). gradguard train --init-from FILE starts from it."},
        footer = {"", "Exit codes: 0 written, 2 not a run, no such checkpoint, or --out exists, 3 charlm's data file "
                + "is gone, 4 a corrupt checkpoint."})
public final class ExportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "a train run directory")
    Path run;
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "safetensors",
            description = "the file format; safetensors is the one there is (default: ${DEFAULT-VALUE})")
    String format;
    @Option(names = "--out", paramLabel = "FILE",
            description = "the file to write, which must not exist (default: RUN_DIR/model.safetensors, or "
                    + "RUN_DIR/model-step-N.safetensors with --step)")
    Path out;
    @Option(names = "--step", paramLabel = "N", description = "export checkpoint N's weights instead of the final ones")
    Long step;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("safetensors")) {
            throw new IllegalArgumentException("--format " + format + " is not supported (allowed: safetensors)");
        }
        OptionalLong checkpoint = step == null ? OptionalLong.empty() : OptionalLong.of(step);
        WeightsExport.Exported e = WeightsExport.export(run, checkpoint,
                out != null ? out : WeightsExport.defaultFile(run, checkpoint));
        System.out.printf("Wrote %s: %d parameters of %s/%s (param_checksum %s)%n", e.file(), e.parameters(), e.task(),
                e.model(), e.checksum());
        return ExitCodes.OK;
    }
}

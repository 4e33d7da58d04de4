package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A tensor in the shell reads like PyTorch's REPL: its values (summarized when large), then shape and dtype. */
class ShellFormatTest {
    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void aSmallTensorShowsItsValuesShapeAndDtype() {
        Tensor t = torch.arange(new Scalar(6.0)).to(torch.ScalarType.Float).view(2, 3);
        assertEquals("tensor([[0., 1., 2.],\n        [3., 4., 5.]], shape=[2, 3], dtype=torch.float32)",
                ShellFormat.show(t));
        assertEquals("tensor(2.5000, shape=[], dtype=torch.float64)",
                ShellFormat.show(torch.ones(1).to(torch.ScalarType.Double).mul(new Scalar(2.5)).sum()));
    }

    @Test
    void aLargeTensorIsSummarizedLikePyTorchsPrinting() {
        Tensor t = torch.arange(new Scalar(2000.0)).to(torch.ScalarType.Long);
        assertEquals("tensor([0., 1., 2., ..., 1997., 1998., 1999.], shape=[2000], dtype=torch.int64)", ShellFormat.show(t));
        Tensor nan = torch.full(new long[] {2}, new Scalar(Double.NaN));
        assertEquals("tensor([nan, nan], shape=[2], dtype=torch.float32)", ShellFormat.show(nan));
    }

    @Test
    void otherValuesShowAsThemselves() {
        assertEquals("42", ShellFormat.show(42));
    }
}

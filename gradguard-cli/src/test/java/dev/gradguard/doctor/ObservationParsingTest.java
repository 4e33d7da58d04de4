package dev.gradguard.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ObservationParsingTest {

    /** show_config() of the CPU jar, as printed on this project's build machine (flags shortened). */
    static final String CPU_CONFIG = """
            PyTorch built with:
              - GCC 11.4
              - C++ Version: 201703
              - Intel(R) MKL-DNN v3.7.1 (Git Hash 8d263e693366ef8db40acc569cc7d8edf644556d)
              - OpenMP 201511 (a.k.a. OpenMP 4.5)
              - CPU capability usage: AVX512
              - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, CXX_FLAGS=-DUSE_FBGEMM -DLIBKINETO_NOXPUPTI=ON -O2, LAPACK_INFO=open, TORCH_VERSION=2.10.0, USE_CUDA=0, USE_CUDNN=OFF, USE_GLOO=ON, USE_MKLDNN=ON, USE_NCCL=0, USE_OPENMP=1,\s
            """;

    @Test
    void showConfigOfTheCpuBuildIsParsed() {
        BuildInfo b = BuildInfo.parse(CPU_CONFIG);
        assertEquals(new BuildInfo("2.10.0", "open", true, "3.7.1", true, false, false, "none", "none"), b);
    }

    @Test
    void showConfigOfACudaBuildReportsCudaAndNccl() {
        BuildInfo b = BuildInfo.parse("  - Build settings: BLAS_INFO=open, CUDA_VERSION=13.1, CUDNN_VERSION=9.19.0, "
                + "TORCH_VERSION=2.10.0, USE_CUDA=ON, USE_GLOO=ON, USE_NCCL=1,\n");
        assertTrue(b.cuda());
        assertTrue(b.nccl());
        assertEquals("13.1", b.cudaVersion());
        assertEquals("9.19.0", b.cudnnVersion());
        assertEquals("unknown", BuildInfo.parse("").torchVersion());
    }

    @Test
    void driverVersionIsReadFromProc() {
        assertEquals(Optional.of("580.65.06"), Driver.parseProcVersion(
                "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:48 UTC 2025\n"
                        + "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"));
        assertEquals(Optional.of("535.183.01"), Driver.parseProcVersion(
                "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  535.183.01  Release Build\n"));
        assertEquals(Optional.of(535), new Driver("535.183.01", "nvidia-smi").major());
        assertFalse(Driver.absent().present());
    }

    @Test
    void nvidiaSmiCsvIsReadIntoDevices() {
        List<GpuDevice> d = GpuDevice.parseNvidiaSmi("NVIDIA H100 80GB HBM3, 81559 MiB, 9.0, 580.65.06\n"
                + "NVIDIA A10G, 23028 MiB, 8.6, 580.65.06\n");
        assertEquals(List.of(new GpuDevice(0, "NVIDIA H100 80GB HBM3", 81559, "9.0", "nvidia-smi"),
                new GpuDevice(1, "NVIDIA A10G", 23028, "8.6", "nvidia-smi")), d);
    }

    @Test
    void librariesAreFoundInDirectoriesFirstThenInTheLoaderCache(@TempDir Path dir) throws IOException {
        Files.createFile(dir.resolve("libcudart.so.13"));
        String ldconfig = """
                1234 libs found in cache `/etc/ld.so.cache'
                \tlibnccl.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnccl.so.2
                \tlibcudart.so.13 (libc6,x86-64) => /opt/other/libcudart.so.13
                \tlibcudnn.so.9 (libc6) => /usr/lib32/libcudnn.so.9
                """;
        Map<String, CudaLibrary> libs = CudaLibraries.locate(List.of(dir), ldconfig).stream()
                .collect(Collectors.toMap(CudaLibrary::name, l -> l));
        assertEquals(CudaLibraries.REQUIRED.size(), libs.size());
        assertEquals(dir.resolve("libcudart.so.13").toString(), libs.get("libcudart.so.13").path());
        assertEquals("/usr/lib/x86_64-linux-gnu/libnccl.so.2", libs.get("libnccl.so.2").path());
        assertNull(libs.get("libcudnn.so.9").path(), "a 32-bit library does not count");
        assertFalse(libs.get("libcublas.so.13").found());
    }

    @Test
    void ldLibraryPathDirectoriesFollowTheCudaDefaults() {
        assertEquals(List.of(Path.of("/usr/local/cuda-13.1/lib64"), Path.of("/usr/local/cuda/lib64"), Path.of("/opt/a"),
                Path.of("/opt/b")), CudaLibraries.searchDirectories("/opt/a::/opt/b:/usr/local/cuda/lib64"));
        assertEquals(2, CudaLibraries.searchDirectories(null).size());
    }
}

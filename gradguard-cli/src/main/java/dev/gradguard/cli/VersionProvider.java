package dev.gradguard.cli;

import picocli.CommandLine.IVersionProvider;

/** Prints gradguard's version and the libtorch it is built on. */
final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"gradguard " + (v == null ? "(development build)" : v) + " on libtorch 2.10.0 (org.bytedeco:pytorch 2.10.0-1.5.13)"};
    }
}

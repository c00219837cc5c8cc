// Loaded into every Node process of an emulated test run (NODE_OPTIONS, set
// by scripts/arm64.mjs): the test runner forks its workers, and the tests
// start their own children, with process.execPath. Under qemu-user that is
// the arm64 binary itself, which this x64 kernel cannot exec; the wrapper
// named here runs it through qemu, so every process in the run is arm64.
if (process.env.TKA_EMULATED_NODE) process.execPath = process.env.TKA_EMULATED_NODE;

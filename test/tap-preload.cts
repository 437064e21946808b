// Loaded into every test process by .taprc's node-arg, before tap's own --import hooks (--require runs first).
// @tapjs/processinfo records each module a test loads (for coverage and `tap --changed`); on node_modules that is
// ~2,000 files of @kubernetes/client-node, fastify and undici per process, about 2.5 s of CPU each. Coverage is off,
// so dependencies are left out; our own files under src/ and test/ are still recorded.
process.env._TAPJS_PROCESSINFO_EXCLUDE_ = String(/(^(node|tapmock):|[\\/](\.tap|tap-snapshots|node_modules)[\\/])/);

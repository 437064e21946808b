// Loaded into every test process by .taprc's node-arg, after tap's --import hooks: @tapjs/processinfo turns source
// maps on, and Node then parses the maps of every dependency it loads. Type stripping keeps our lines and columns as
// written, so stack traces point at the .ts files without them.
process.setSourceMapsEnabled(false);

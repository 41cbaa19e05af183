"""The CLI and the glue: terraform runner, embedded emulator, verification."""

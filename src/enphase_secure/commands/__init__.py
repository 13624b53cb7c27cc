"""Sub-commands of the CLI, one module each (see cli.COMMANDS)."""

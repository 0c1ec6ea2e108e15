"""CLI commands by area. Each module defines its click commands, lists the top-level ones in COMMANDS, and
never imports keras_gans.cli: cli.py imports every module here and registers them (shared helpers live in
commands/common.py). Keep TensorFlow imports inside the commands."""

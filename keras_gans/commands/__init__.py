"""CLI commands by area. Each module imports `main` from keras_gans.cli and decorates its commands with
@main.command(); keras_gans.cli imports every module here. Keep TensorFlow imports inside the commands."""

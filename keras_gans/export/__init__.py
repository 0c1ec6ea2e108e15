"""Layer 3, writing and reading exports: the SavedModel (`savedmodel`) and the converted formats (`formats`: ONNX,
LiteRT). Imports the layers below it only."""

"""Layer 4, the config: presets and overrides (`loader`), the schema composed from the families' sections (`schema`),
the per-key value checks (`values`), what a --resume may change (`resume`)."""

"""Rules, one per file. `policies.engine.all_rules()` imports every module below this package."""

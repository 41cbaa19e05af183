"""GCP resource rules: one file each, MLOPS_GCP_NNN."""

"""mlops_blueprint: an MLOps platform from one blueprint file (placeholder, replaced below)."""

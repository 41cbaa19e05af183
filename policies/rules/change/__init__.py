"""Change rules (layer c): functions of a Terraform plan JSON, run by `policies.change.findings_for_plan`."""

"""AWS resource rules."""

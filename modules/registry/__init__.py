"""The registry component: one construct per cloud in <cloud>.py."""

"""The baseline component: one construct per cloud in <cloud>.py."""

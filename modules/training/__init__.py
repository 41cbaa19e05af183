"""The training component: one construct per cloud in <cloud>.py."""

"""The monitoring component: one construct per cloud in <cloud>.py."""

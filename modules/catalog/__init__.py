"""The catalog component: one construct per cloud in <cloud>.py."""

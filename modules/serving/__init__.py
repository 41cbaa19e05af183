"""The serving component: one construct per cloud in <cloud>.py."""

"""The data_lake component: one construct per cloud in <cloud>.py."""

"""OCP domain package: shipped to every function as the `ocp` Lambda layer."""

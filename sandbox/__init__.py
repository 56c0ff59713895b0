"""Local emulators of the outside world (Kubernetes API servers, cloud control planes).

Used by tests, benchmarks and the ``sandbox`` stack. Nothing in here imports the product
(components, providers, engine): the sandbox plays the part of the real world.
"""

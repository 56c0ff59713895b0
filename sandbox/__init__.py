"""Local emulators of the outside world (Kubernetes API servers, cloud control planes).

Used by tests, benchmarks and the ``sandbox`` stack. Nothing in here imports the product
(components, providers, engine): the sandbox plays the part of the real world.
"""


def missing_extra(module: str) -> str:
    """What to say when the emulators' libraries (the ``sandbox`` extra) are not installed."""
    return (
        f"the sandbox runs on fleetform's emulators, whose libraries are not installed ({module} is missing): "
        "install fleetform with its sandbox extra, e.g. pip install -e '.[sandbox]' in a checkout"
    )

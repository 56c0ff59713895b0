"""How fleetform touches the outside world: cloud APIs, Kubernetes API servers, dynamic providers."""

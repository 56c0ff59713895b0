"""fleetform's Pulumi components and the model of the stack configuration (``components.spec``)."""

"""fleetform's embedded deployment engine.

It runs any Pulumi Python program in-process on the Pulumi SDK, receives the program's resource
registrations through the SDK's resource-monitor interface, and plans, applies and records the steps
itself (preview / up / destroy / refresh). It knows nothing about clusters.
"""

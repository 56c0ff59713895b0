"""Test program: `kube:objects` is a JSON list of {name, kind, ..., import?: id} turned into typed
pulumi_kubernetes resources on one explicit provider built from `kube:kubeconfig`. With `kube:origin`
(a file path) the provider, and a dynamic resource, depend on a marker resource at that path, as a
member's provider and fleetform's default StorageClass depend on their cluster's lookup."""

import json

import pulumi
import pulumi_kubernetes as k8s
from origin import Marker, Reacher

config = pulumi.Config("kube")
origin = [Marker("origin", config.get("origin"))] if config.get("origin") else []
if origin:  # a dynamic resource reached through the same place
    Reacher("reacher", config.get("origin"), pulumi.ResourceOptions(depends_on=origin))
provider = k8s.Provider(
    "cluster",
    kubeconfig=config.require_secret("kubeconfig"),
    namespace=config.get("namespace"),
    opts=pulumi.ResourceOptions(depends_on=origin),
)
made = {}
for spec in json.loads(config.get("objects") or "[]"):
    opts = pulumi.ResourceOptions(
        provider=provider, depends_on=[made[d] for d in spec.get("depends_on", [])], import_=spec.get("import")
    )
    kind, name, metadata = spec["kind"], spec["name"], spec.get("metadata")
    if kind == "Namespace":
        made[name] = k8s.core.v1.Namespace(name, metadata=metadata, opts=opts)
    elif kind == "ConfigMap":
        made[name] = k8s.core.v1.ConfigMap(name, metadata=metadata, data=spec.get("data"), opts=opts)
    elif kind == "Secret":
        made[name] = k8s.core.v1.Secret(name, metadata=metadata, string_data=spec.get("string_data"), opts=opts)
    elif kind == "Deployment":
        made[name] = k8s.apps.v1.Deployment(name, metadata=metadata, spec=spec["spec"], opts=opts)
    elif kind == "Service":
        made[name] = k8s.core.v1.Service(name, metadata=metadata, spec=spec["spec"], opts=opts)
    elif kind == "CustomResourceDefinition":
        made[name] = k8s.apiextensions.v1.CustomResourceDefinition(
            name, metadata=metadata, spec=spec["spec"], opts=opts
        )
    else:
        made[name] = k8s.apiextensions.CustomResource(
            name, api_version=spec["api_version"], kind=kind, metadata=metadata, spec=spec.get("spec"), opts=opts
        )

pulumi.export("names", {name: resource.metadata["name"] for name, resource in made.items()})

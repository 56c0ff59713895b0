"""Test program: `case:use` picks one feature the embedded engine does not implement, next to an
ordinary component: a remote component (ConfigGroup, helm Chart), an invoke, a method call, or the import
option on a resource not recorded yet."""

import pulumi
import pulumi_kubernetes as k8s

use = pulumi.Config("case").require("use")
pulumi.ComponentResource("test:index:Plain", "plain")

if use == "configgroup":
    k8s.yaml.v2.ConfigGroup("manifests", yaml="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n")
elif use == "chart":
    k8s.helm.v4.Chart("ingress", chart="oci://registry.example/charts/ingress-nginx", version="4.0.0")
elif use == "invoke":
    pulumi.runtime.invoke("kubernetes:helm:template", {"jsonOpts": {"chart": "ingress-nginx"}})
elif use == "call":
    pulumi.export("called", pulumi.runtime.call("test:index:Plain/describe", {}))
elif use == "import":
    k8s.core.v1.Namespace("adopted", metadata={"name": "demo"}, opts=pulumi.ResourceOptions(import_="demo"))

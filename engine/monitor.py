"""The resource monitor the Pulumi SDK talks to, in-process.

The SDK calls these methods (named as in the gRPC ResourceMonitor service) from its executor
threads with protobuf requests. They translate to and from :class:`Registration` and hand the work
to the :class:`Deployment`.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import resource_pb2

from .deployment import Deployment
from .errors import EngineError
from .steps import Registration
from .urn import URN

_INSTEAD = "run this program with the Pulumi CLI"


def from_struct(value: Any) -> Any:
    """Protobuf Struct/ListValue -> plain Python, keeping the SDK's secret maps and unknown sentinel
    as they are (the engine stores and compares them as values). Null map entries are dropped, as
    the SDK treats them as absent."""
    if isinstance(value, struct_pb2.Struct):
        return {k: from_struct(v) for k, v in value.items() if v is not None}
    if isinstance(value, struct_pb2.ListValue):
        return [from_struct(v) for v in value]
    return value


def to_struct(values: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


class UnsupportedError(EngineError):
    """The program uses a feature the embedded engine does not implement.

    Raised from a monitor method, it fails the SDK call that made the request; the SDK keeps the
    first such exception and the program run ends with it, so the CLI prints this message."""


class ResourceMonitor:
    """Implements the ResourceMonitor methods the SDK uses."""

    def __init__(self, deployment: Deployment, stack: str, project: str):
        self.deployment = deployment
        self.stack = stack
        self.project = project

    def RegisterResource(self, request):
        if request.remote:
            raise UnsupportedError(
                f"{request.type} '{request.name}' is a remote component: its resources are made by the "
                f"'{request.type.split(':', 1)[0]}' provider plugin, which the embedded engine does not run. "
                f"Declare what it would make as typed resources (for Kubernetes, e.g. "
                f"pulumi_kubernetes.apps.v1.Deployment instead of a chart or manifest component), or {_INSTEAD}"
            )
        urn = str(URN.new(self.stack, self.project, request.parent, request.type, request.name))
        if request.importId and self.deployment.live.get(urn) is None:
            # Pulumi adopts the object at `up` and ignores the option once the resource is recorded; a
            # create instead would duplicate a dynamic resource or silently take over a Kubernetes object
            raise UnsupportedError(
                f"{request.type} '{request.name}' has the import option (id '{request.importId}'), which the "
                f"embedded engine does not apply: record the object first with `fleetform import {request.type} "
                f"{request.name} {request.importId}` (with --parent and --provider as the program declares them; "
                f"the option is then ignored, as in Pulumi), or {_INSTEAD}"
            )
        inputs = from_struct(request.object)
        reg = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=inputs,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider_ref=request.provider,
            protect=bool(request.protect),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            retain_on_delete=bool(request.retainOnDelete),
            additional_secret_outputs=list(request.additionalSecretOutputs),
        )
        id_, outputs, failed = self.deployment.register(reg)
        result = resource_pb2.Result.FAIL if failed else resource_pb2.Result.SUCCESS
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=to_struct(outputs), result=result)

    def RegisterResourceOutputs(self, request):
        outputs = from_struct(request.outputs)
        self.deployment.register_outputs(request.urn, outputs)
        return empty_pb2.Empty()

    def SupportsFeature(self, request):
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id == "secrets")

    def GetDeploymentInfo(self, request):
        return resource_pb2.DeploymentInfo(supportedFeatures=[resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS])

    def Invoke(self, request):
        raise UnsupportedError(
            f"the embedded engine does not implement invoke '{request.tok}' (a provider function): compute "
            f"the value in the program or pass it in through the stack configuration, or {_INSTEAD}"
        )

    def Call(self, request):
        raise UnsupportedError(
            f"the embedded engine does not implement method calls ('{request.tok}' on a remote component "
            f"or provider): use typed resources and their outputs instead, or {_INSTEAD}"
        )

    def ReadResource(self, request):
        raise UnsupportedError(
            f"the embedded engine does not read external resources (get of {request.type} '{request.name}'); "
            f"declare the resource or use the Pulumi CLI"
        )

    def ExistsResource(self, request):
        return resource_pb2.ExistsResourceResponse(exists=False)

    def RegisterPackage(self, request):
        return resource_pb2.RegisterPackageResponse(ref=f"{request.name}@{request.version}")

    def RegisterStackTransform(self, request):
        raise UnsupportedError("the embedded engine does not support stack transforms")

    def RegisterStackInvokeTransform(self, request):
        raise UnsupportedError("the embedded engine does not support invoke transforms")

    def RegisterResourceHook(self, request):
        raise UnsupportedError("the embedded engine does not support resource hooks")

    def RegisterErrorHook(self, request):
        raise UnsupportedError("the embedded engine does not support error hooks")

    def SignalAndWaitForShutdown(self, request):
        return empty_pb2.Empty()


class EngineLog:
    """The SDK's ``engine`` endpoint: diagnostics from the program (pulumi.log)."""

    _SEVERITY = {0: "debug", 1: "info", 2: "warning", 3: "error"}

    def __init__(self, observer):
        self.observer = observer

    def Log(self, request):
        severity = self._SEVERITY.get(request.severity, "info")
        if severity != "debug":
            self.observer.on_diagnostic(severity, request.message, request.urn)
        return empty_pb2.Empty()

    def GetRootResource(self, request):
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.GetRootResourceResponse(urn=getattr(self, "root", ""))

    def SetRootResource(self, request):
        from pulumi.runtime.proto import engine_pb2

        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()

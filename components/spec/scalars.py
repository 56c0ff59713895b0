"""Typed strings of the stack model: durations, names, labels, CIDRs, URLs and Kubernetes formats.

Each type explains itself on failure (the message names the value, the hint shows a valid example), so that the
error of a stack file reads the same wherever the type is used.
"""

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator

from ..labels import CLUSTERSET_LABEL
from .common import NAMESPACE, invalid

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_HINT = 'whole hours, minutes and/or seconds, e.g. "30m", "24h" or "1h30m"'


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style durations (units h, m, s, in that order)."""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"'{text}' is not a duration")
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(hours=1, minutes=30)`` -> ``"1h30m"``."""
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    units = ((hours, "h"), (minutes, "m"), (seconds, "s"))
    return "".join(f"{amount}{unit}" for amount, unit in units if amount) or "0s"


def duration(minimum: str = "1s", maximum: str | None = None) -> Any:
    """A duration written as a string, kept as a ``timedelta``, range-checked, dumped back as a string."""
    low = parse_duration(minimum)
    high = parse_duration(maximum) if maximum else None
    allowed = f"allowed: {minimum} to {maximum}" if maximum else f"allowed: at least {minimum}"

    def check(value: object) -> timedelta:
        if isinstance(value, timedelta):
            parsed = value
        elif isinstance(value, str) and _DURATION.fullmatch(value) and value:
            parsed = parse_duration(value)
        else:
            raise invalid(f"{value!r} is not a duration", _DURATION_HINT)
        if parsed < low or (high is not None and parsed > high):
            raise invalid(f"duration {format_duration(parsed)} is out of range", allowed)
        return parsed

    return Annotated[timedelta, PlainValidator(check), PlainSerializer(format_duration, return_type=str)]


def matching(pattern: str, what: str, example: str, echo: bool = True) -> Any:
    """A string that must match ``pattern``; ``what`` and ``example`` explain the format to the user.

    ``echo=False`` keeps the value out of the message, for keys where a pasted secret is a likely mistake.
    """
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            shown = f"'{value}'" if echo else "the value"
            raise invalid(f"{shown} is not a valid {what}", f'e.g. "{example}"')
        return value

    return Annotated[str, AfterValidator(check), Field(description=f'{what}, e.g. "{example}"')]


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise invalid(f"FF-NET-002 '{value}' is not a valid CIDR", _cidr_hint(value)) from None
    if "/" not in value:
        raise invalid(f"FF-NET-002 '{value}' is not a valid CIDR", "add the prefix length, e.g. /16")
    return value


def _cidr_hint(value: str) -> str:
    try:
        return f'did you mean "{ipaddress.ip_network(value, strict=False)}"?'
    except ValueError:
        return 'e.g. "10.0.0.0/16"'


def _check_https_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme != "https" or not parts.hostname:
        raise invalid(f"'{value}' is not an https URL", 'e.g. "https://hub.example.com:6443"')
    return value


_IN_CLUSTER_HOSTS = ("kubernetes", "kubernetes.default")
_IN_CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")


def _check_agent_endpoint(value: str) -> str:
    host = (urlsplit(value).hostname or "").lower()
    if host in _IN_CLUSTER_HOSTS or host.endswith(_IN_CLUSTER_SUFFIXES):
        raise invalid(
            f"agent_endpoint '{value}' is an in-cluster address that members cannot reach",
            'use the hub API URL reachable from the member clusters, e.g. "https://hub.example.com:6443"',
        )
    return value


DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = rf"(?=.{{1,253}}$){DNS_LABEL}(?:\.{DNS_LABEL})*"
_LABEL_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"(?:{DNS_LABEL}(?:\.{DNS_LABEL})*/)?{_LABEL_NAME}")
_LABEL_VALUE = re.compile(rf"(?:{_LABEL_NAME})?")


def _check_label_key(key: str) -> str:
    if not _LABEL_KEY.fullmatch(key) or len(key.rpartition("/")[0]) > 253:
        raise invalid(
            f"label key '{key}' is invalid",
            "use [prefix/]name: a DNS subdomain prefix, and a name of up to 63 of A-Z a-z 0-9 - _ . "
            "that starts and ends alphanumeric",
        )
    if key.startswith(f"{NAMESPACE}.io/") or key == CLUSTERSET_LABEL:
        raise invalid(f"label '{key}' is reserved", f"fleetform sets {NAMESPACE}.io/* and {CLUSTERSET_LABEL} itself")
    return key


def _check_label_value(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise invalid(
            f"label value '{value}' is invalid", "up to 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric"
        )
    return value


EntityName = Annotated[str, Field(description='4-40 characters of a-z, 0-9 and "-", e.g. "edge-sh-01"')]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
Labels = dict[Annotated[str, AfterValidator(_check_label_key)], LabelValue]
Cidr = Annotated[str, AfterValidator(_check_cidr), Field(description='a CIDR, e.g. "10.0.0.0/16"')]
HttpsUrl = Annotated[str, AfterValidator(_check_https_url), Field(description='e.g. "https://hub.example.com:6443"')]
AgentEndpoint = Annotated[HttpsUrl, AfterValidator(_check_agent_endpoint)]
DnsLabel = matching(DNS_LABEL, "DNS label", "ingress-nginx")
DnsSubdomain = matching(_DNS_SUBDOMAIN, "DNS subdomain", "fleetform-disk")
SemVer = matching(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?", "semantic version", "1.14.1")
EnvVarName = matching(r"[A-Za-z_][A-Za-z0-9_]*", "environment variable name", "HUB_KUBECONFIG", echo=False)
Quantity = matching(r"\d+(?:\.\d+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?", "Kubernetes quantity", "3Gi")

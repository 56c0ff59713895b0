"""The order in which a member's objects are applied through its provider."""

from __future__ import annotations

from components.delivery import _apply_rank


def test_a_service_account_token_secret_is_applied_after_service_accounts():
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hub"}}
    token = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {}}
    plain = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {}}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleetform-system"}}
    assert _apply_rank(namespace) < _apply_rank(account) < _apply_rank(token)
    assert _apply_rank(plain) == _apply_rank(account)

"""Pulumi's passphrase secrets provider as fleetform reads and writes it for stack export/import.

The provider state below was made by Pulumi itself with the passphrase ``password`` (it is the
fixture of pulumi/pulumi's pkg/secrets/passphrase/manager_test.go), so opening it checks the key
derivation and cipher against Pulumi's, not against fleetform's own idea of them."""

from __future__ import annotations

import pytest

from engine.pulumi_secrets import PulumiCrypter

PULUMI_MADE_STATE = {"salt": "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="}


def test_a_provider_state_made_by_pulumi_opens_with_its_passphrase_only():
    crypter = PulumiCrypter.from_state("password", PULUMI_MADE_STATE)
    assert crypter.salt == bytes.fromhex("7e8cc8e6ee81d37d")
    with pytest.raises(ValueError, match="passphrase does not open"):
        PulumiCrypter.from_state("password123", PULUMI_MADE_STATE)


def test_values_round_trip_under_a_state_this_side_wrote():
    written = PulumiCrypter.new("s3cret")
    reopened = PulumiCrypter.from_state("s3cret", written.state())
    ciphertext = written.encrypt_value({"token": "abc"})
    assert ciphertext.startswith("v1:") and "abc" not in ciphertext
    assert reopened.decrypt(ciphertext) == '{"token":"abc"}'
    tampered = ciphertext[:-4] + ("AAAA" if not ciphertext.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError, match="does not open"):
        reopened.decrypt(tampered)

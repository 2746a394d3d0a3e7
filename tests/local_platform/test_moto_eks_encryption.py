"""The local platform's moto answers EKS AssociateEncryptionConfig, which moto 5.2.5 lacks
(tests/local_platform/moto_tls_server.py: add_eks_associate_encryption_config), over HTTPS through the
server's own routing, as AWS answers it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
# The patched server and its client factory, shared with the EFS tests.
from test_moto_efs import client  # noqa: F401  # pylint: disable=unused-import

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _cluster(client, name: str):  # noqa: F811
    eks = client("eks")
    eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})
    return eks


def test_encryption_is_associated_once_and_then_refused(client):  # noqa: F811
    eks = _cluster(client, "enc")
    assert eks.describe_cluster(name="enc")["cluster"].get("encryptionConfig", []) == []

    config = [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]
    update = eks.associate_encryption_config(clusterName="enc", encryptionConfig=config)["update"]
    assert update["type"] == "AssociateEncryptionConfig" and update["status"] == "Successful"
    assert eks.describe_cluster(name="enc")["cluster"]["encryptionConfig"] == config

    # AWS cannot change or remove the key of a cluster whose secrets are encrypted.
    other = [{"resources": ["secrets"], "provider": {"keyArn": KEY.replace("5555", "6666")}}]
    with pytest.raises(ClientError) as refused:
        eks.associate_encryption_config(clusterName="enc", encryptionConfig=other)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert eks.describe_cluster(name="enc")["cluster"]["encryptionConfig"] == config


def test_unknown_cluster_is_not_found(client):  # noqa: F811
    with pytest.raises(ClientError) as missing:
        client("eks").associate_encryption_config(
            clusterName="nosuch", encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": KEY}}])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

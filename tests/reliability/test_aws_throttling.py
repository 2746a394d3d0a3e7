"""AWS answers throttling errors for a while: our modules back off, retry and then succeed.

A fault proxy in front of a private moto answers the first N requests of one operation with the
error AWS sends when it throttles. botocore's own retries are switched off (AWS_MAX_ATTEMPTS=1)
so only the collection's retry decorators can get the call through.
"""

from __future__ import annotations

import sys

import boto3
import pytest
from botocore.config import Config
from reliability_support import AWS_ENV, REPO, direct_env, run_direct
from fault_proxy import FaultProxy

COLLECTIONS = str(REPO / ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture
def proxy(moto_url):
    with FaultProxy(moto_url) as fault_proxy:
        yield fault_proxy


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
                        config=Config(retries={"mode": "standard", "max_attempts": 1}))


def test_elasticache_module_retries_query_protocol_throttling(proxy, tmp_path):
    """elasticache_replication_group (Query protocol): 'Throttling' on describe and create."""
    proxy.throttle("DescribeReplicationGroups", 2)
    proxy.throttle("CreateReplicationGroup", 2)
    args = {"replication_group_id": "rel-throttled", "description": "throttled", "engine_version": "7.1",
            "cache_node_type": "cache.t4g.micro", "num_cache_clusters": 1, "automatic_failover": False,
            "multi_az": False, "transit_encryption": False, "wait": False, "region": "us-east-1",
            "endpoint_url": proxy.url}
    env = direct_env(AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    module = "llm_saas.platform.elasticache_replication_group"
    first = run_direct(tmp_path, module, args, env=env, name="first")
    second = run_direct(tmp_path, module, args, env=env, name="second")
    assert first.get("failed") is not True, first
    assert first["changed"] is True
    assert second.get("failed") is not True and second["changed"] is False, second
    # Every throttled answer was followed by a retry that got through.
    assert proxy.throttled == {"DescribeReplicationGroups": 2, "CreateReplicationGroup": 2}
    assert proxy.seen["CreateReplicationGroup"] == 3
    assert proxy.seen["DescribeReplicationGroups"] >= 3
    groups = client("elasticache", proxy.url).describe_replication_groups(ReplicationGroupId="rel-throttled")
    assert [g["ReplicationGroupId"] for g in groups["ReplicationGroups"]] == ["rel-throttled"]


def test_eks_retry_covers_throttling_exception(proxy, monkeypatch):
    """EKS (REST-JSON) throttles with 'ThrottlingException', which AWSRetry does not know by itself."""
    from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import EKS_RETRY

    eks = client("eks", proxy.url)
    eks.create_cluster(name="rel-eks", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)  # the backoff is real, the waiting is not
    proxy.throttle("GET /clusters/rel-eks", 3, code="ThrottlingException", status=400, protocol="rest-json")
    cluster = EKS_RETRY(eks.describe_cluster)(name="rel-eks")["cluster"]
    assert cluster["name"] == "rel-eks"
    assert proxy.throttled["GET /clusters/rel-eks"] == 3
    assert proxy.seen["GET /clusters/rel-eks"] == 4
    assert len(sleeps) == 3 and all(s >= 0 for s in sleeps)

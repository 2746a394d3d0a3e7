"""elasticache_replication_group logic.

Create/describe/modify/tag/delete run against moto (in-process), which implements them.
moto 5.2.5 ignores NumCacheClusters (a cluster-mode-disabled group always gets one node),
lacks IncreaseReplicaCount and keeps no member cache clusters, so the moto tests that
re-run the module use a single-node group, and the three-node Multi-AZ shape, replica
changes and engine upgrades are tested with botocore's Stubber, which validates every
request and response against the real ElastiCache service model.
"""

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aws_module_harness import dummy_client  # first: puts .collections on sys.path
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.llm_saas.platform.plugins.module_utils.aws import elasticache_replication_group as rg

TOKEN = "a" * 32


def params(**overrides):
    base = dict(
        replication_group_id="llm-redis",
        description="platform cache",
        state="present",
        engine="redis",
        engine_version="7.1",
        cache_node_type="cache.r6g.large",
        num_cache_clusters=3,
        automatic_failover=True,
        multi_az=True,
        cache_subnet_group=None,
        security_group_ids=None,
        cache_parameter_group=None,
        port=6379,
        at_rest_encryption=True,
        transit_encryption=True,
        kms_key_id=None,
        auth_token=TOKEN,
        snapshot_retention_limit=7,
        snapshot_window=None,
        preferred_maintenance_window=None,
        auto_minor_version_upgrade=None,
        apply_immediately=True,
        tags={"Project": "llm-saas"},
        purge_tags=True,
        wait=True,
        wait_timeout=60,
    )
    base.update(overrides)
    return base


@pytest.fixture
def moto_client():
    with mock_aws():
        raw = dummy_client("elasticache")
        yield raw, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff())


def test_create_stores_security_settings_then_is_idempotent(moto_client):
    raw, client = moto_client
    created = rg.ensure(client, params())
    assert created["changed"] is True
    (group,) = raw.describe_replication_groups(ReplicationGroupId="llm-redis")["ReplicationGroups"]
    assert group["AutomaticFailover"] == "enabled"
    assert group["MultiAZ"] == "enabled"
    assert group["AtRestEncryptionEnabled"] is True
    assert group["TransitEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["SnapshotRetentionLimit"] == 7
    tags = raw.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    assert tags == [{"Key": "Project", "Value": "llm-saas"}]


def single(**overrides):
    """A shape moto keeps faithfully (it stores one node whatever NumCacheClusters says)."""
    return params(num_cache_clusters=1, automatic_failover=False, multi_az=False, **overrides)


def test_second_run_changes_nothing(moto_client):
    _, client = moto_client
    assert rg.ensure(client, single())["changed"] is True
    again = rg.ensure(client, single())
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]


def test_check_mode_creates_nothing(moto_client):
    raw, client = moto_client
    result = rg.ensure(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["after"]["multi_az"] is True
    assert raw.describe_replication_groups()["ReplicationGroups"] == []


def test_modify_applies_only_the_difference(moto_client):
    raw, client = moto_client
    rg.ensure(client, single())
    result = rg.ensure(client, single(snapshot_retention_limit=14, description="renamed"), check_mode=True)
    assert result["changed"] is True
    assert (
        raw.describe_replication_groups(ReplicationGroupId="llm-redis")["ReplicationGroups"][0][
            "SnapshotRetentionLimit"
        ]
        == 7
    )
    rg.ensure(client, single(snapshot_retention_limit=14, description="renamed"))
    (group,) = raw.describe_replication_groups(ReplicationGroupId="llm-redis")["ReplicationGroups"]
    assert group["SnapshotRetentionLimit"] == 14
    assert group["Description"] == "renamed"
    assert rg.ensure(client, single(snapshot_retention_limit=14, description="renamed"))["changed"] is False


def test_tags_are_purged_and_added(moto_client):
    raw, client = moto_client
    rg.ensure(client, single(tags={"Project": "llm-saas", "Old": "x"}))
    rg.ensure(client, single(tags={"Project": "llm-saas", "Env": "prod"}))
    arn = raw.describe_replication_groups(ReplicationGroupId="llm-redis")["ReplicationGroups"][0]["ARN"]
    tags = {t["Key"]: t["Value"] for t in raw.list_tags_for_resource(ResourceName=arn)["TagList"]}
    assert tags == {"Project": "llm-saas", "Env": "prod"}


def test_immutable_encryption_change_fails_naming_the_field(moto_client):
    _, client = moto_client
    rg.ensure(client, params())
    with pytest.raises(rg.ReplicationGroupError, match=r"^at_rest_encryption cannot change"):
        rg.ensure(client, params(at_rest_encryption=False, kms_key_id=None))


def test_absent_deletes_and_is_idempotent(moto_client):
    raw, client = moto_client
    rg.ensure(client, params())
    assert rg.ensure(client, params(state="absent", wait=False))["changed"] is True
    assert (
        raw.describe_replication_groups(ReplicationGroupId="llm-redis")["ReplicationGroups"][0]["Status"] == "deleting"
    )
    assert rg.ensure(client, params(state="absent", wait=False))["changed"] is False


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(num_cache_clusters=1), "automatic_failover"),
        (dict(automatic_failover=False, num_cache_clusters=2), "multi_az"),
        (dict(transit_encryption=False), "auth_token"),
        (dict(auth_token="short"), "auth_token"),
        (dict(at_rest_encryption=False, kms_key_id="k"), "kms_key_id"),
    ],
)
def test_bad_input_fails_before_any_call(overrides, field):
    with pytest.raises(rg.ReplicationGroupError, match=r"^" + field):
        rg.validate(params(**overrides))


def _group(members, status="available"):
    return {
        "ReplicationGroupId": "llm-redis",
        "Description": "platform cache",
        "Status": status,
        "MemberClusters": members,
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "PrimaryEndpoint": {"Address": "master.llm-redis.cache.amazonaws.com", "Port": 6379},
                "ReaderEndpoint": {"Address": "replica.llm-redis.cache.amazonaws.com", "Port": 6379},
            }
        ],
        "AutomaticFailover": "enabled",
        "MultiAZ": "enabled",
        "CacheNodeType": "cache.r6g.large",
        "AuthTokenEnabled": True,
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd",
        "SnapshotRetentionLimit": 7,
        "ARN": "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:llm-redis",
    }


def _cluster(engine_version="7.1"):
    return {
        "CacheClusterId": "llm-redis-001",
        "EngineVersion": engine_version,
        "SecurityGroups": [{"SecurityGroupId": "sg-1", "Status": "active"}],
        "PreferredMaintenanceWindow": "sun:05:30-sun:06:30",
        "AutoMinorVersionUpgrade": False,
    }


def test_adding_a_replica_uses_increase_replica_count_against_the_real_model():
    raw = dummy_client("elasticache")
    stub = Stubber(raw)
    members = ["llm-redis-001", "llm-redis-002"]
    stub.add_response(
        "describe_replication_groups", {"ReplicationGroups": [_group(members)]}, {"ReplicationGroupId": "llm-redis"}
    )
    stub.add_response("describe_cache_clusters", {"CacheClusters": [_cluster()]}, {"CacheClusterId": "llm-redis-001"})
    stub.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "Project", "Value": "llm-saas"}]},
        {"ResourceName": _group(members)["ARN"]},
    )
    stub.add_response(
        "increase_replica_count",
        {"ReplicationGroup": _group(members, "modifying")},
        {"ReplicationGroupId": "llm-redis", "NewReplicaCount": 2, "ApplyImmediately": True},
    )
    stub.add_response(
        "describe_replication_groups",
        {"ReplicationGroups": [_group([*members, "llm-redis-003"])]},
        {"ReplicationGroupId": "llm-redis"},
    )
    wanted = params(
        kms_key_id="abcd",
        security_group_ids=["sg-1"],
        preferred_maintenance_window="sun:05:30-sun:06:30",
        auto_minor_version_upgrade=False,
    )
    with stub:
        result = rg.ensure(RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff()), wanted)
    stub.assert_no_pending_responses()
    assert result["changed"] is True
    assert result["diff"]["before"]["num_cache_clusters"] == 2
    assert result["diff"]["after"]["num_cache_clusters"] == 3
    assert result["primary_endpoint"] == {"address": "master.llm-redis.cache.amazonaws.com", "port": 6379}


def test_engine_upgrade_and_security_groups_go_through_modify():
    raw = dummy_client("elasticache")
    stub = Stubber(raw)
    members = ["llm-redis-001", "llm-redis-002", "llm-redis-003"]
    stub.add_response(
        "describe_replication_groups", {"ReplicationGroups": [_group(members)]}, {"ReplicationGroupId": "llm-redis"}
    )
    stub.add_response(
        "describe_cache_clusters", {"CacheClusters": [_cluster("7.0")]}, {"CacheClusterId": "llm-redis-001"}
    )
    stub.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "Project", "Value": "llm-saas"}]},
        {"ResourceName": _group(members)["ARN"]},
    )
    stub.add_response(
        "modify_replication_group",
        {"ReplicationGroup": _group(members, "modifying")},
        {
            "ReplicationGroupId": "llm-redis",
            "EngineVersion": "7.1",
            "SecurityGroupIds": ["sg-2"],
            "ApplyImmediately": True,
        },
    )
    stub.add_response(
        "describe_replication_groups", {"ReplicationGroups": [_group(members)]}, {"ReplicationGroupId": "llm-redis"}
    )
    with stub:
        result = rg.ensure(
            RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff()), params(security_group_ids=["sg-2"])
        )
    stub.assert_no_pending_responses()
    assert result["changed"] is True


def test_three_node_multi_az_group_as_aws_describes_it_is_unchanged():
    raw = dummy_client("elasticache")
    stub = Stubber(raw)
    members = ["llm-redis-001", "llm-redis-002", "llm-redis-003"]
    stub.add_response(
        "describe_replication_groups", {"ReplicationGroups": [_group(members)]}, {"ReplicationGroupId": "llm-redis"}
    )
    stub.add_response("describe_cache_clusters", {"CacheClusters": [_cluster()]}, {"CacheClusterId": "llm-redis-001"})
    stub.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "Project", "Value": "llm-saas"}]},
        {"ResourceName": _group(members)["ARN"]},
    )
    with stub:
        result = rg.ensure(
            RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff()),
            params(kms_key_id="arn:aws:kms:us-east-1:123456789012:key/abcd", security_group_ids=["sg-1"]),
        )
    stub.assert_no_pending_responses()
    assert result["changed"] is False
    assert result["reader_endpoint"]["address"] == "replica.llm-redis.cache.amazonaws.com"

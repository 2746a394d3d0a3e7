# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the llm_saas.platform AWS gap modules.

Owned by the network/EKS engineer; other modules may append clearly separated
functions at the end of this file.
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# jittered_backoff itself only knows the Query-protocol "Throttling" code: EKS (REST-JSON)
# throttles with "ThrottlingException", which must be listed here. The others are the EKS "busy"
# answers that clear on their own while another update of the same cluster is in flight.
EKS_RETRY = AWSRetry.jittered_backoff(
    retries=10, catch_extra_error_codes=["ThrottlingException", "ResourceInUseException", "ServerException"])


def not_found(exc):
    """True when a botocore ClientError means the resource does not exist."""
    # is_boto3_error_code() returns an exception class for except clauses (always truthy): compare the code.
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") == "ResourceNotFoundException"


def tag_changes(current, desired, purge):
    """Return (tags_to_set, keys_to_remove); desired=None leaves tags alone."""
    if desired is None:
        return {}, []
    return compare_aws_tags(current or {}, desired, purge_tags=purge)


def apply_eks_tags(module, client, arn, current, desired, *, purge):
    """Make the tags of an EKS resource match; return True when something changed."""
    to_set, to_remove = tag_changes(current, desired, purge)
    if not to_set and not to_remove:
        return False
    if module.check_mode:
        return True
    if to_remove:
        EKS_RETRY(client.untag_resource)(resourceArn=arn, tagKeys=to_remove)
    if to_set:
        EKS_RETRY(client.tag_resource)(resourceArn=arn, tags=to_set)
    return True


def desired_tags(current, desired, purge):
    """The tag map the resource ends up with (for diff output)."""
    if desired is None:
        return dict(current or {})
    result = {} if purge else dict(current or {})
    result.update(desired)
    return result


def wait_for(module, describe, ready, *, timeout, what, delay=10):
    """Poll describe() until ready(result) is true; fail the module on timeout.

    describe returns None when the resource is gone (ready(None) may accept that).
    """
    deadline = time.time() + timeout
    while True:
        result = describe()
        if ready(result):
            return result
        if time.time() >= deadline:
            module.fail_json(msg="Timed out after {0}s waiting for {1}".format(timeout, what))
        time.sleep(delay)


# --- Results: boto3 answers carry datetimes, which module results must give as strings.
def isoformat_values(mapping):
    """A copy of mapping with its datetime values as ISO 8601 strings (one level deep)."""
    return {key: (value.isoformat() if isinstance(value, datetime.datetime) else value)
            for key, value in mapping.items()}

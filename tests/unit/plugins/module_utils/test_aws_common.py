"""plugins/module_utils/aws/common.py: not_found tells "the resource does not exist" from other errors;
isoformat_values makes boto3 answers fit for module results."""

from __future__ import annotations

import os
import sys

import botocore.exceptions
import pytest

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import not_found  # noqa: E402


def _client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "DescribeThing")


def test_resource_not_found_is_not_found():
    assert not_found(_client_error("ResourceNotFoundException")) is True


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException", "InvalidParameterException"])
def test_other_errors_are_not_not_found(code):
    # A denied or throttled describe must surface, never pass for "absent" (which would create again).
    assert not_found(_client_error(code)) is False


def test_an_error_without_a_response_is_not_not_found():
    assert not_found(botocore.exceptions.EndpointConnectionError(endpoint_url="https://eks")) is False


def test_isoformat_values_turns_datetimes_into_strings_and_keeps_the_rest():
    import datetime

    from ansible_collections.llm_saas.platform.plugins.module_utils.aws.common import isoformat_values

    when = datetime.datetime(2026, 11, 28, 3, 0, tzinfo=datetime.timezone.utc)
    original = {"CreationTime": when, "FlowLogId": "fl-1", "Tags": [{"Key": "a", "Value": "b"}]}
    assert isoformat_values(original) == {
        "CreationTime": "2026-11-28T03:00:00+00:00", "FlowLogId": "fl-1", "Tags": [{"Key": "a", "Value": "b"}]}
    assert original["CreationTime"] is when  # a copy: the boto3 answer is left as it was

"""What the AWS module unit tests beside this file share: dummy boto3 clients, and a module run in process.

The tests import it as ``aws_module_harness``: pytest puts the directory of a test file that has no
__init__.py on sys.path, for the whole suite (``make test``) as for a single file. Importing it puts the
repository's .collections directory (where ``make setup`` links this collection as
ansible_collections.llm_saas.platform) on sys.path, so import it before the collection's code.
"""

from __future__ import annotations

import json
import os
import sys
from unittest.mock import patch

import boto3
import pytest

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

DEFAULT_REGION = "us-east-1"


def dummy_client(service, region=DEFAULT_REGION):
    """A boto3 client with dummy credentials, for moto's mock_aws or botocore's Stubber."""
    return boto3.client(service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


def no_aws(service):
    """A client factory for input that must fail before the module asks for any client."""
    raise AssertionError("no %s call expected" % service)


def run_aws_module(main, capsys, clients=dummy_client, *, check_mode=False, region=DEFAULT_REGION, wrap=None, **params):
    """Run an AnsibleAWSModule's main() with params (diff on); return its JSON result, with "rc" its exit code.

    clients is what AnsibleAWSModule.client(service, ...) returns: a function of the service name
    (dummy_client, a dict's get, no_aws) or one client (a Stubber's) returned for every service.
    wrap, when given, is applied to each client returned (say a RetryingBotoClientWrapper).
    """
    factory = clients if callable(clients) else lambda service: clients
    wrap = wrap or (lambda client: client)
    args = {"region": region, "_ansible_check_mode": check_mode, "_ansible_diff": True}
    args.update(params)
    with (
        patch_module_args(args),
        patch.object(AnsibleAWSModule, "client", side_effect=lambda service, **kw: wrap(factory(service))),
        pytest.raises(SystemExit) as exit_info,
    ):
        main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result

"""Unit tests run in-process (moto's mock_aws, botocore Stubber): never against the local platform.

`make pytest` exports the local platform's environment; an AWS_ENDPOINT_URL pointing at the
moto server would route boto3 past mock_aws to the shared server, where tests see each
other's resources.
"""

import os

import pytest

_PLATFORM_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_SESSION_TOKEN")


@pytest.fixture(autouse=True)
def _in_process_aws(monkeypatch):
    for name in _PLATFORM_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(name, raising=False)

"""Print the named AWS Config recorder as JSON ({} when absent). Read-only.

community.aws.config_recorder compares its request with the whole describe result, which since 2023
also carries recordingStrategy and exclusionByResourceTypes, so it reports a change on every run
(community.aws PR #1862 is still open). The role reads the recorder with this script and calls the
module only when the settings it manages differ.
"""

import json
import sys

import boto3

name, region, endpoint = sys.argv[1], sys.argv[2], sys.argv[3] or None
client = boto3.client("config", region_name=region, endpoint_url=endpoint)
try:
    found = client.describe_configuration_recorders(ConfigurationRecorderNames=[name])["ConfigurationRecorders"]
except client.exceptions.NoSuchConfigurationRecorderException:
    found = []
print(json.dumps(found[0] if found else {}))

"""Print the scenario's web ACL as WAFv2 stores it (JSON)."""

import json
import sys

import boto3

endpoint, region, name = sys.argv[1:4]
waf = boto3.client("wafv2", endpoint_url=endpoint, region_name=region)
summary = next(a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == name)
acl = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=summary["Id"])["WebACL"]
tags = waf.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"].get("TagList", [])
acl["Tags"] = {t["Key"]: t["Value"] for t in tags}
print(json.dumps(acl, default=str))

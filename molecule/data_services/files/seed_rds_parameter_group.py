"""Create an empty DB parameter group in moto if it is missing (see prepare.yml for why)."""

import sys

import boto3

endpoint, region, name, family = sys.argv[1:5]
rds = boto3.client("rds", endpoint_url=endpoint, region_name=region)
existing = rds.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
if existing:
    print("exists")
else:
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description="seeded")
    print("created")

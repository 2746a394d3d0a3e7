#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vpc_flow_log
short_description: Manage the CloudWatch Logs flow log of a VPC
version_added: 0.1.0
description:
  - Creates, replaces, re-tags or deletes the flow log that sends the traffic of O(vpc_id) to the
    CloudWatch Logs group O(log_group_name). AWS keeps at most one flow log per VPC and log group,
    which is how the module finds it.
  - Exists because no maintained Ansible module manages VPC flow logs (neither amazon.aws nor
    community.aws has one).
  - AWS cannot modify a flow log in place; one whose O(traffic_type) or O(deliver_logs_role_arn)
    differs is deleted and created again (with a new id). Only its tags change in place.
  - O(state=absent) deletes every flow log of O(vpc_id) that delivers to O(log_group_name).
author:
  - llm_saas platform engineering (@llm-saas)
options:
  vpc_id:
    description: Id of the VPC whose traffic is logged.
    type: str
    required: true
  log_group_name:
    description:
      - The CloudWatch Logs group the flow log delivers to.
      - It need not exist yet, but delivery fails until it does.
    type: str
    required: true
  deliver_logs_role_arn:
    description:
      - ARN of the IAM role VPC flow logs assume to write to O(log_group_name).
      - Required to create a flow log. When omitted, the role of an existing flow log is not compared.
    type: str
  traffic_type:
    description: Which traffic the flow log records.
    type: str
    default: ALL
    choices: [ACCEPT, REJECT, ALL]
  tags:
    description:
      - Tags of the flow log. Omit to leave the tags alone.
      - Tags not listed here are kept unless O(purge_tags=true).
    type: dict
  purge_tags:
    description: Remove the tags of the flow log that O(tags) does not list (only when O(tags) is given).
    type: bool
    default: false
  state:
    description: Whether the flow log should exist.
    type: str
    default: present
    choices: [present, absent]
notes:
  - Supports C(check_mode) (reads only) and C(diff).
  - A replaced flow log keeps the tags of the one it replaces, unless O(purge_tags=true).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log all traffic of the VPC to its flow log group
  llm_saas.platform.vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /aws/vpc/llm-saas-prod/flow-logs
    deliver_logs_role_arn: arn:aws:iam::123456789012:role/llm-saas-prod-vpc-flow-logs
    traffic_type: ALL
    tags:
      Project: llm-saas
  register: flow_log

- name: Stop logging the VPC to that group
  llm_saas.platform.vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /aws/vpc/llm-saas-prod/flow-logs
    state: absent
"""

RETURN = r"""
flow_log_id:
  description: Id of the flow log (null when absent or about to be created in check mode).
  returned: always
  type: str
  sample: fl-0123456789abcdef0
flow_log:
  description: The flow log as EC2 describes it, in snake_case, tags as a dict (empty when there is none).
  returned: always
  type: dict
  sample:
    flow_log_id: fl-0123456789abcdef0
    resource_id: vpc-0123456789abcdef0
    log_destination_type: cloud-watch-logs
    log_group_name: /aws/vpc/llm-saas-prod/flow-logs
    traffic_type: ALL
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/llm-saas-prod-vpc-flow-logs
    deliver_logs_status: SUCCESS
    flow_log_status: ACTIVE
    max_aggregation_interval: 600
    tags: {Project: llm-saas}
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.vpc_flow_log import main


if __name__ == "__main__":
    main()

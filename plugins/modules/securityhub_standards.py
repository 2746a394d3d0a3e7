#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: securityhub_standards
short_description: Enable AWS Security Hub in a region with exactly the listed security standards
version_added: 0.1.0
description:
  - Subscribes the account to Security Hub in the region without the default standards, then enables the
    standards listed in O(standards) and (with O(purge_standards)) disables every other one, so the
    enabled set is exactly the declared one.
  - Exists because neither amazon.aws nor community.aws has a module for Security Hub.
  - Standard names are resolved with DescribeStandards in the target region, so the ARN has the right
    partition and form (most standards are C(arn:<partition>:securityhub:<region>::standards/<id>); CIS
    1.2.0 is the older, region-less C(arn:<partition>:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0)),
    and a standard the region does not offer fails with the list of those it does.
  - Enabling a standard returns at once; the subscription is C(PENDING) until Security Hub has set up its
    controls. C(PENDING), C(READY), C(INCOMPLETE) and C(FAILED) subscriptions all count as enabled (the last
    two with a warning); C(DELETING) ones do not.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  state:
    description:
      - Whether the account is subscribed to Security Hub in the region.
      - V(absent) disables Security Hub, which drops its standards and findings.
    type: str
    default: present
    choices: [present, absent]
  standards:
    description:
      - Standards to enable, each as its ARN or as the id after C(standards/) (or C(ruleset/)) in it, for example
        V(cis-aws-foundations-benchmark/v/3.0.0) or V(aws-foundational-security-best-practices/v/1.0.0).
      - Omit to leave the standards alone.
    type: list
    elements: str
  purge_standards:
    description: Disable enabled standards not listed in O(standards).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Security Hub with CIS AWS Foundations 3.0.0 and AWS Foundational Security Best Practices only
  llm_saas.platform.securityhub_standards:
    standards:
      - cis-aws-foundations-benchmark/v/3.0.0
      - aws-foundational-security-best-practices/v/1.0.0

- name: Add PCI DSS to whatever is enabled
  llm_saas.platform.securityhub_standards:
    standards:
      - arn:aws:securityhub:eu-west-1::standards/pci-dss/v/4.0.1
    purge_standards: false
"""

RETURN = r"""
hub_arn:
  description: ARN of the hub; null when Security Hub is off (or in check mode before it is enabled).
  returned: always
  type: str
  sample: arn:aws:securityhub:us-east-1:123456789012:hub/default
standards:
  description:
    - Enabled standards after the run, as a map of standards ARN to subscription status
      (C(PENDING) for those this run enabled); empty when O(standards) is omitted.
  returned: always
  type: dict
  sample:
    "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0": READY
    "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0": PENDING
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.securityhub_standards import main


if __name__ == "__main__":
    main()

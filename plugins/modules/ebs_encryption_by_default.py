#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ebs_encryption_by_default
short_description: Manage EBS encryption by default and its default KMS key in one region
version_added: 0.1.0
description:
  - Turns the account's EBS encryption by default on or off in one region and sets the KMS key new volumes
    are encrypted with when the request names none.
  - Exists because neither amazon.aws nor community.aws has a module for it, and EKS managed node groups
    created without a launch template (as roles/eks_cluster creates them) get encrypted root volumes only
    through this setting.
  - The setting is per account B(and per region); a DR region needs it as well, with a key of its own
    (KMS keys are regional).
  - Volumes that already exist are not touched; only volumes created afterwards are encrypted with the key.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  enabled:
    description:
      - Whether every new EBS volume (and snapshot copy) in the region is encrypted.
    type: bool
    default: true
  kms_key_id:
    description:
      - The default KMS key for EBS in the region, as key id, key ARN, alias (V(alias/NAME)) or alias ARN.
      - Compared as the key ARN AWS reports, so an alias and the ARN of its key are the same key.
      - The key must be enabled and symmetric; AWS accepts any identifier and only fails instance launches
        later, so the module refuses such keys before changing anything.
      - A customer managed key must let the EC2 Auto Scaling service-linked role use it (and create grants),
        otherwise Auto Scaling groups, EKS managed node groups among them, cannot launch instances.
      - V(alias/aws/ebs) returns to the AWS managed key (ResetEbsDefaultKmsKeyId).
      - Omit to leave the default key as it is.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Encrypt every new EBS volume with the platform key, in the primary and the DR region
  llm_saas.platform.ebs_encryption_by_default:
    region: "{{ item.region }}"
    kms_key_id: "{{ item.key }}"
  loop:
    - {region: us-east-1, key: alias/llm-saas-prod-ebs}
    - {region: us-west-2, key: alias/llm-saas-prod-ebs}

- name: Back to the AWS managed key (encryption stays on)
  llm_saas.platform.ebs_encryption_by_default:
    kms_key_id: alias/aws/ebs
"""

RETURN = r"""
ebs_encryption_by_default:
  description: Whether EBS encryption by default is on in the region (as it will be, in check mode).
  returned: always
  type: bool
  sample: true
kms_key_arn:
  description:
    - ARN of the region's default EBS key (as it will be, in check mode).
    - V(alias/aws/ebs) while the AWS managed key is the default and EBS has not created it yet.
  returned: always
  type: str
  sample: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.ebs_encryption_by_default import main


if __name__ == "__main__":
    main()

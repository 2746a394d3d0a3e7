#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to llm_saas.platform
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: config_recorder_status
short_description: Start or stop recording of an AWS Config configuration recorder
version_added: 0.1.0
description:
  - Makes sure an existing AWS Config configuration recorder records (or does not), calling
    C(StartConfigurationRecorder) or C(StopConfigurationRecorder) only when its status differs.
  - Exists because M(community.aws.config_recorder) creates the recorder but cannot start it, and a recorder
    that does not record keeps no configuration history.
  - The recorder must exist (M(community.aws.config_recorder)) and, to start it, a delivery channel too
    (M(community.aws.config_delivery_channel)); the module fails naming what to create first otherwise.
  - Supports check mode and diff mode; a second run with the same arguments changes nothing.
  - Warns when the recorder records but AWS Config reports its last delivery as failed.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  name:
    description: Name of the configuration recorder (AWS Config names the first one V(default)).
    type: str
    required: true
  recording:
    description: Whether the recorder should record (V(false) stops it; the recorded history is kept).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Record configuration changes with the recorder created by community.aws.config_recorder
  llm_saas.platform.config_recorder_status:
    name: default

- name: Stop recording in a sandbox account
  llm_saas.platform.config_recorder_status:
    name: default
    recording: false
"""

RETURN = r"""
recording:
  description: Whether the recorder records (in check mode, as it is now).
  returned: always
  type: bool
  sample: true
status:
  description: The recorder status as DescribeConfigurationRecorderStatus returns it (snake_case keys, ISO 8601 times).
  returned: always
  type: dict
  contains:
    name:
      description: Recorder name.
      type: str
    recording:
      description: Whether the recorder records.
      type: bool
    last_status:
      description: Status of the last recording event (C(Pending), C(Success), C(Failure)).
      type: str
    last_start_time:
      description: When the recorder was last started.
      type: str
    last_stop_time:
      description: When the recorder was last stopped.
      type: str
    last_status_change_time:
      description: When the last status changed.
      type: str
    last_error_code:
      description: Error code of the last failure, if any.
      type: str
    last_error_message:
      description: Error message of the last failure, if any.
      type: str
  sample:
    name: default
    recording: true
    last_status: Success
    last_start_time: "2026-01-01T00:00:00+00:00"
"""

from ansible_collections.llm_saas.platform.plugins.module_utils.aws.config_recorder_status import main


if __name__ == "__main__":
    main()

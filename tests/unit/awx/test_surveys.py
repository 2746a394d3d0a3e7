"""AWX configuration as code: surveys in AWX's format, choices that cannot drift from the tiers and
model catalog, and template variables that the target playbooks' argument specs accept.

No AWX runs here: the survey format is checked against a JSON schema written from AWX's own
validation (JobTemplateSurveySpec._validate_spec_data), and the variables against the roles'
meta/argument_specs.yml with Ansible's ArgumentSpecValidator — the validator `validate_argument_spec`
and role argument validation use.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
AWX = REPO / "awx"
SCHEMA = json.loads((Path(__file__).parent / "survey_spec.schema.json").read_text())
SURVEYS = sorted((AWX / "surveys").glob("*.json"))
TIERS = yaml.safe_load((REPO / "group_vars" / "all" / "tiers.yml").read_text())
# AWX's survey question types and the Python types their answers arrive as in extra vars.
ANSWER_TYPES = {"text": "str", "textarea": "str", "password": "str", "multiplechoice": "str",
                "multiselect": "list", "integer": "int", "float": "float"}


class _Loader(yaml.SafeLoader):
    """Reads Ansible vars files: !unsafe marks strings that AWX, not Ansible, renders."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _yaml(path: Path):
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


TEMPLATES = _yaml(AWX / "job_templates.yml")
OBJECTS = _yaml(AWX / "controller.yml")["awx_objects"]


def _survey(name: str) -> dict:
    return json.loads((AWX / "surveys" / name).read_text())


def _choices(question: dict) -> list[str]:
    choices = question["choices"]
    return choices.splitlines() if isinstance(choices, str) else choices


def awx_survey_errors(survey: dict) -> list[str]:
    """Everything AWX would refuse, schema first, then its cross-field rules."""
    errors = [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(survey)]
    if errors:
        return errors
    seen: set[str] = set()
    for idx, question in enumerate(survey["spec"]):
        if question["variable"] in seen:
            errors.append(f"'variable' {question['variable']} duplicated in survey question {idx}")
        seen.add(question["variable"])
        default = question.get("default", "")
        if question["type"] in ("multiplechoice", "multiselect") and default not in ("", []):
            defaults = default.splitlines() if isinstance(default, str) else default
            if question["type"] == "multiplechoice" and len(defaults) > 1:
                errors.append(f"question {idx}: multiple choice can only have one default")
            if any(d not in _choices(question) for d in defaults):
                errors.append(f"question {idx}: default must be one of the choices")
        if isinstance(default, str) and default.startswith("$encrypted$") and question["type"] != "password":
            errors.append(f"question {idx}: $encrypted$ is reserved for password defaults")
        if question.get("min") is not None and question.get("max") is not None and question["min"] > question["max"]:
            errors.append(f"question {idx}: min {question['min']} > max {question['max']}")
    return errors


# --- the survey format -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SURVEYS, ids=[p.stem for p in SURVEYS])
def test_survey_is_valid_awx_survey_spec(path: Path) -> None:
    assert awx_survey_errors(json.loads(path.read_text())) == []


def _break(survey: dict, how: str) -> dict:
    broken = copy.deepcopy(survey)
    question = broken["spec"][0]
    if how == "missing-required":
        del question["required"]
    elif how == "required-as-string":
        question["required"] = "yes"
    elif how == "unknown-type":
        question["type"] = "dropdown"
    elif how == "no-choices":
        question.update(type="multiplechoice")
        question.pop("choices", None)
    elif how == "default-not-a-choice":
        question.update(type="multiplechoice", choices=["a", "b"], default="c")
    elif how == "two-defaults-single-choice":
        question.update(type="multiplechoice", choices=["a", "b"], default="a\nb")
    elif how == "max-not-integer":
        question["max"] = "40"
    elif how == "duplicate-variable":
        broken["spec"].append(copy.deepcopy(question))
    elif how == "integer-default-text":
        question.update(type="integer", default="ten")
    elif how == "typo-key":
        question["choises"] = ["a"]
    elif how == "empty-spec":
        broken["spec"] = []
    elif how == "no-description":
        del broken["description"]
    return broken


@pytest.mark.parametrize(
    "how",
    ["missing-required", "required-as-string", "unknown-type", "no-choices", "default-not-a-choice",
     "two-defaults-single-choice", "max-not-integer", "duplicate-variable", "integer-default-text",
     "typo-key", "empty-spec", "no-description"],
)
def test_the_validation_refuses_what_awx_refuses(how: str) -> None:
    assert awx_survey_errors(_break(_survey("tenant_onboard.json"), how)), f"{how} was accepted"


# --- choices come from the tiers and the model catalog -------------------------------------------


def _question(survey: str, variable: str) -> dict:
    (question,) = [q for q in _survey(survey)["spec"] if q["variable"] == variable]
    return question


def test_tier_choices_are_the_tiers() -> None:
    question = _question("tenant_onboard.json", "onboard_tier")
    assert question["type"] == "multiplechoice"
    assert sorted(_choices(question)) == sorted(TIERS["platform_tiers"])


def test_model_choices_are_the_catalog() -> None:
    question = _question("tenant_onboard.json", "onboard_models")
    assert question["type"] == "multiselect"
    assert sorted(_choices(question)) == sorted(TIERS["platform_model_catalog"])


def test_tenant_name_question_enforces_the_naming_limit() -> None:
    question = _question("tenant_onboard.json", "onboard_tenant")
    assert question["required"] is True
    assert question["type"] == "text"
    # The tenant role's limit (tenant_<name>_owner must fit PostgreSQL's 63-byte identifiers).
    assert (question["min"], question["max"]) == (1, 40)


def test_offboard_survey_asks_for_the_name_twice() -> None:
    spec = _survey("tenant_offboard.json")["spec"]
    assert [(q["variable"], q["required"], q["type"]) for q in spec] == [
        ("offboard_tenant", True, "text"),
        ("confirm_tenant", True, "text"),
    ]
    # No default may pre-fill the confirmation: typing it is the point.
    assert all(q.get("default", "") == "" for q in spec)


# --- templates, playbooks and argument specs -----------------------------------------------------


INCLUDE_ROLE = ("ansible.builtin.include_role", "include_role", "ansible.builtin.import_role", "import_role")


def _playbook_roles(playbook: Path) -> tuple[set[tuple[str, str]], str]:
    """(role, entry point) pairs a playbook runs — its plays' roles and the roles its tasks include,
    following import_playbook — and the text of every playbook involved."""
    roles: set[tuple[str, str]] = set()
    texts = [playbook.read_text()]
    for play in yaml.safe_load(playbook.read_text()):
        target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if target:
            sub_roles, sub_text = _playbook_roles(playbook.parent / target)
            roles |= sub_roles
            texts.append(sub_text)
            continue
        for role in play.get("roles", []):
            name = role["role"] if isinstance(role, dict) else role
            roles.add((name.removeprefix("llm_saas.platform."), "main"))
        for task in play.get("pre_tasks", []) + play.get("tasks", []) + play.get("post_tasks", []):
            include = next((task[key] for key in INCLUDE_ROLE if key in task), None)
            if include:
                roles.add((include["name"].removeprefix("llm_saas.platform."), include.get("tasks_from", "main")))
    return roles, "\n".join(texts)


def _role_options(roles: set[tuple[str, str]]) -> dict[str, dict]:
    """The options of each role's entry point (meta/argument_specs.yml), merged."""
    options: dict[str, dict] = {}
    for role, entry_point in sorted(roles):
        spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options.update(spec["argument_specs"][entry_point].get("options", {}))
    return options


def _templates() -> list[dict]:
    """Every job template with the survey that feeds it (its own, or its workflow's)."""
    workflows = {w["name"]: w for w in TEMPLATES["awx_workflows"]}
    result = []
    for template in TEMPLATES["awx_job_templates"]:
        survey = template.get("survey") or workflows.get(template.get("survey_from_workflow"), {}).get("survey")
        result.append({**template, "survey_file": survey})
    return result


@pytest.mark.parametrize("template", _templates(), ids=lambda t: t["name"])
def test_template_variables_are_consumed_by_its_playbook(template: dict) -> None:
    playbook = REPO / template["playbook"]
    roles, text = _playbook_roles(playbook)
    options = _role_options(roles)
    variables = list(template.get("extra_vars", {}))
    if template["survey_file"]:
        variables += [q["variable"] for q in _survey(template["survey_file"])["spec"]]
    for variable in variables:
        # Either a role input, or a play-level variable the playbook reads by name.
        assert variable in options or re.search(rf"\b{variable}\b", text), (
            f"{template['name']}: {variable} is neither an input of {sorted(role for role, _entry in roles)} "
            f"nor used by {template['playbook']}"
        )
        if variable in options and template["survey_file"]:
            question = _question(template["survey_file"], variable)
            assert ANSWER_TYPES[question["type"]] == options[variable].get("type", "str"), variable
            if "choices" in options[variable] and "choices" in question:
                assert set(_choices(question)) <= set(options[variable]["choices"]), variable


def test_templates_reference_existing_playbooks_surveys_and_credentials() -> None:
    credentials = {c["name"] for c in OBJECTS["credentials"]}
    names = [t["name"] for t in TEMPLATES["awx_job_templates"]]
    assert len(names) == len(set(names))
    for template in TEMPLATES["awx_job_templates"]:
        assert set(template["credentials"]) <= credentials, template["name"]
        if "survey" in template:
            assert (AWX / "surveys" / template["survey"]).is_file()
        assert (REPO / template["playbook"]).is_file(), template["playbook"]
    expected = {"Platform: converge", "Tenant: offboard", "Models: sync", "DR: failover", "Platform: drift check",
                "DR: failback", "Tenant: restore", "Backups: configure", "Backups: tenant schemas"}
    assert expected <= set(names)
    assert {"Tenant: onboard", "DR: failover and converge"} <= {w["name"] for w in TEMPLATES["awx_workflows"]}


def test_drift_check_is_a_scheduled_check_mode_diff_run_of_site() -> None:
    (drift,) = [t for t in TEMPLATES["awx_job_templates"] if t["name"] == "Platform: drift check"]
    assert (drift["playbook"], drift["job_type"], drift["diff_mode"]) == ("site.yml", "check", True)
    (schedule,) = [s for s in TEMPLATES["awx_schedules"] if s["unified_job_template"] == drift["name"]]
    assert "FREQ=DAILY" in schedule["rrule"]
    assert schedule["rrule"].startswith("DTSTART")


def test_tenant_backups_are_scheduled_daily() -> None:
    (backups,) = [t for t in TEMPLATES["awx_job_templates"] if t["name"] == "Backups: tenant schemas"]
    assert (backups["playbook"], backups["job_type"]) == ("playbooks/tenant_backup.yml", "run")
    (schedule,) = [s for s in TEMPLATES["awx_schedules"] if s["unified_job_template"] == backups["name"]]
    assert "FREQ=DAILY" in schedule["rrule"] and schedule["rrule"].startswith("DTSTART")


def test_workflow_nodes_chain_to_existing_templates() -> None:
    names = {
        "job_template": {t["name"] for t in TEMPLATES["awx_job_templates"]},
        "project": {OBJECTS["project"]["name"]},
        "inventory_source": {OBJECTS["inventory"]["source"]["name"]},
    }
    for workflow in TEMPLATES["awx_workflows"]:
        identifiers = {n["identifier"] for n in workflow["nodes"]}
        for node in workflow["nodes"]:
            ujt = node["unified_job_template"]
            assert ujt["name"] in names[ujt["type"]], f"{workflow['name']}: node {node['identifier']}"
            for successor in node.get("related", {}).get("success_nodes", []):
                assert successor["identifier"] in identifiers
        # Exactly one node starts the workflow and every node is reached from it.
        targets = {s["identifier"] for n in workflow["nodes"] for s in n.get("related", {}).get("success_nodes", [])}
        assert len(identifiers - targets) == 1


def _dr_outputs(tasks_file: str) -> dict:
    """The settings a DR playbook publishes with set_stats (roles/dr/tasks/<file>), rendered with
    sample values for the facts it reads from AWS."""
    tasks = yaml.safe_load((REPO / "roles" / "dr" / "tasks" / tasks_file).read_text())

    def find(items):
        for task in items:
            outputs = (task.get("ansible.builtin.set_fact", {}).get("dr_failover_outputs")
                       or task.get("vars", {}).get("_dr_outputs"))
            if outputs:
                return outputs
            found = find(task.get("block", []))
            if found:
                return found
        return None

    outputs = find(tasks)
    assert outputs, f"roles/dr/tasks/{tasks_file} publishes no settings"
    facts = {"dr_region": "us-west-2", "dr_primary_region": "us-east-1", "dr_db_port": 5432,
             "platform_resource_prefix": "llm-saas-production",
             "dr_rds_dr_identifier": "llm-saas-production-postgres-dr",
             "dr_rds_failback_identifier": "llm-saas-production-postgres-failback",
             "_dr_endpoint": "db.us-west-2.example", "_dr_port": "5432",
             "_dr_failback": {"endpoint": {"address": "db.us-east-1.example", "port": 5432}}}
    templar = Templar(loader=DataLoader(), variables=facts)
    return {k: templar.template(trust_as_template(v)) if isinstance(v, str) else v for k, v in outputs.items()}


@pytest.mark.parametrize("tasks_file", ["failover.yml", "failback.yml"])
def test_dr_settings_are_inputs_the_converge_accepts(tasks_file: str) -> None:
    """What the failover (or failback) hands to "Platform: converge" — as workflow artifacts or a vars
    file — is made of site.yml's role inputs of the right type, or product-wide variables."""
    outputs = _dr_outputs(tasks_file)
    roles, _text = _playbook_roles(REPO / "site.yml")
    options = _role_options(roles)
    product_wide = yaml.safe_load((REPO / "group_vars" / "all" / "platform.yml").read_text())
    declared = {k: v for k, v in outputs.items() if k in options}
    assert set(outputs) - set(declared) <= set(product_wide), (
        f"{sorted(set(outputs) - set(declared) - set(product_wide))} is read by no role of site.yml")
    for name in set(outputs) - set(declared):
        assert type(outputs[name]) is type(product_wide[name]), name
    result = ArgumentSpecValidator({k: options[k] for k in declared}).validate(declared)
    assert result.error_messages == []
    assert outputs["aws_region"] != outputs["aws_dr_region"]


def test_dr_workflow_fails_over_then_converges() -> None:
    (workflow,) = [w for w in TEMPLATES["awx_workflows"] if w["name"] == "DR: failover and converge"]
    templates = {t["name"]: t for t in TEMPLATES["awx_job_templates"]}
    first, second = workflow["nodes"]
    assert templates[first["unified_job_template"]["name"]]["playbook"] == "playbooks/dr_failover.yml"
    assert templates[second["unified_job_template"]["name"]]["playbook"] == "site.yml"
    # Only a successful failover may start the converge, and the confirmation is asked once, up front.
    assert first["related"] == {"success_nodes": [{"identifier": second["identifier"]}]}
    assert workflow["survey"] == templates["DR: failover"]["survey"]
    # The failover hands its settings to the converge as workflow artifacts.
    outputs = (REPO / "roles" / "dr" / "tasks" / "outputs.yml").read_text()
    assert "ansible.builtin.set_stats" in outputs and "per_host: false" in outputs


# --- the onboarding answers become valid tenant inputs --------------------------------------------


TENANT_OPTIONS = yaml.safe_load((REPO / "roles" / "tenant" / "meta" / "argument_specs.yml").read_text())[
    "argument_specs"]["main"]["options"]


def _host_vars_from_answers(answers: dict) -> dict:
    """The tenant host_vars awx_tenant_register.yml derives from the survey answers (its own Jinja)."""
    play = yaml.safe_load((REPO / "playbooks" / "awx_tenant_register.yml").read_text())[0]
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in play["vars"].items()}
    variables |= {"onboard_display_name": "", **answers}
    host_vars = Templar(loader=DataLoader(), variables=variables).template(trust_as_template("{{ onboard_host_vars }}"))
    return {**host_vars, "tenant_tier": answers["onboard_tier"], "tenant_name": answers["onboard_tenant"]}


def _answers(**overrides) -> dict:
    """Answers as AWX passes them: one default answer per question, overridden per test."""
    answers = {q["variable"]: q.get("default", "") for q in _survey("tenant_onboard.json")["spec"]}
    answers |= {"onboard_tenant": "hooli", "onboard_admin_group": "hooli-admins"}
    return answers | overrides


@pytest.mark.parametrize(
    "answers",
    [
        _answers(),
        _answers(onboard_tier="premium", onboard_models=["llama3:8b", "llama3:70b"]),
        _answers(onboard_display_name="Hooli XYZ", onboard_models=[]),
        # Older AWX versions pass multiselect answers as newline-separated text.
        _answers(onboard_models="mistral:7b\nphi3:mini"),
    ],
    ids=["defaults", "premium-with-gpu-model", "display-name", "newline-models"],
)
def test_survey_answers_satisfy_the_tenant_argument_spec(answers: dict) -> None:
    host_vars = _host_vars_from_answers(answers)
    result = ArgumentSpecValidator(TENANT_OPTIONS).validate(host_vars)
    assert result.error_messages == []
    assert result.validated_parameters["tenant_tier"] in TIERS["platform_tiers"]
    if answers["onboard_models"]:
        assert set(result.validated_parameters["tenant_models"]) <= set(TIERS["platform_model_catalog"])
    else:
        assert "tenant_models" not in host_vars, "no models chosen must keep the tier's list"


def test_wrongly_typed_answers_fail_the_tenant_argument_spec() -> None:
    host_vars = _host_vars_from_answers(_answers(onboard_models={"llama3:8b": True}))
    errors = ArgumentSpecValidator(TENANT_OPTIONS).validate(host_vars).error_messages
    assert any("tenant_models" in e for e in errors), errors


def test_offboard_answers_with_the_inventory_satisfy_the_tenant_argument_spec() -> None:
    inventory = REPO / "inventories" / "local"
    acme = yaml.safe_load((inventory / "host_vars" / "acme.yml").read_text())
    answers = {"offboard_tenant": "acme", "confirm_tenant": "acme"}
    # What the tenant role sees for acme during tenant_offboard.yml: its inventory, the tier group,
    # the survey's confirmation and the playbook's tenant_state.
    provided = acme | {"tenant_tier": "standard", "confirm_tenant": answers["confirm_tenant"], "tenant_state": "absent"}
    assert ArgumentSpecValidator(TENANT_OPTIONS).validate(provided).error_messages == []
    wrong = provided | {"tenant_state": "gone"}
    assert ArgumentSpecValidator(TENANT_OPTIONS).validate(wrong).error_messages

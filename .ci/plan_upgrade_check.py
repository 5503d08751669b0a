#!/usr/bin/env python3
"""Checks one regeneration's `tf_plan_stub.sh replan -json` line (.ci/plan-upgrade, issue 12 point 9).

    plan_upgrade_check.py REPLAN.json OLD_PLAN.json NEW_PLAN.json OLD_MODULE_DIR

REPLAN.json: the driver's last line ({"add":..,"resources":[{"address":..,"action":..}]}).
OLD_PLAN.json / NEW_PLAN.json: `amlfw plan --format json` of the two scenarios.
OLD_MODULE_DIR: the module the state was applied from (to read each resource's Azure name).

A delete or replace is expected only for the resource of a rule the new scenario drops: its
rule id is not in the new plan and no rule of the new plan has the same traffic under another
id (that would be a rename, which destroys a rule that is still wanted). Every other delete or
replace (a kept rule, an NSG, a route table, an association, the rule collection group, the
root's own resources) is a failure. Prints one line per delete/replace; exit 1 on a failure.
"""
import json
import pathlib
import re
import sys

RULE_RESOURCES = {"azurerm_network_security_rule": "nsg", "azurerm_route": "route"}
RESOURCE = re.compile(r'^resource "(\w+)" "(\w+)" \{\n(?:\s*#.*\n)*\s*name\s*=\s*"([^"]*)"', re.M)


def traffic(rule):
    return (rule["kind"], rule["direction"], tuple(sorted(rule["protocols"])), tuple(sorted(rule["ports"])),
            tuple(sorted(rule["destinations"])), rule.get("region"), rule.get("next_hop"), tuple(sorted(
                s for s in rule["sources"] if rule["direction"] == "inbound")))


def main():
    replan_path, old_path, new_path, module_dir = sys.argv[1:5]
    replan = json.loads(pathlib.Path(replan_path).read_text().strip().splitlines()[-1])
    old = {r["id"]: r for r in json.loads(pathlib.Path(old_path).read_text())["rules"]}
    new = {r["id"]: r for r in json.loads(pathlib.Path(new_path).read_text())["rules"]}
    new_traffic = {traffic(r): r["id"] for r in new.values()}
    names = {}
    for tf in pathlib.Path(module_dir).glob("*.tf"):
        for kind, label, name in RESOURCE.findall(tf.read_text()):
            names[f"{kind}.{label}"] = name
    failures = 0
    for resource in replan.get("resources", []):
        action, address = resource["action"], resource["address"]
        if action not in ("delete", "replace"):
            continue
        local = re.sub(r"^module\.azureml_firewall_rules\.", "", address)
        kind = local.split(".")[0]
        rule_id = names.get(local) if kind in RULE_RESOURCES and local != address else None
        why = ""
        if rule_id is None:
            verdict = "FAIL"
            why = "not a rule's resource: nothing in these pairs should destroy it"
        elif rule_id in new:
            verdict, why = "FAIL", f"rule {rule_id} is in both plans"
        elif traffic(old[rule_id]) in new_traffic:
            verdict, why = "FAIL", f"rule {rule_id} is renamed to {new_traffic[traffic(old[rule_id])]} (same traffic)"
        else:
            verdict, why = "expected", f"rule {rule_id} is dropped by the new scenario"
        paths = resource.get("replace_paths")
        extra = f" (forced by {paths})" if paths else ""
        print(f"    {verdict}: {action} {address}{extra}: {why}")
        failures += verdict == "FAIL"
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

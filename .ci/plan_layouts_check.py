#!/usr/bin/env python3
"""Checks one run of the landing-zone layout (.ci/plan-layouts, issue 13 item 6).

    plan_layouts_check.py RUN_DIR [--self-test]

RUN_DIR holds what .ci/plan-layouts left after both roots were applied and replanned:
  amlfw-plan.json                    `amlfw plan --format json` of the scenario
  state/cloud.json                   the simulated cloud both roots share (TFSTUB_CLOUD)
  state/hub.tfstate, spoke.tfstate   each root's own state (TFSTUB_STATE)
  state/ROOT.plan.json, ROOT.replan.json
                                     `terraform show -json` of the greenfield plan and of the replan
                                     after both applies (TFSTUB_PLAN_JSON)

What must hold:
  spoke, its own resources (outside module.*): each NSG keeps exactly --own-nsg-rules separate
    rules and each route table --own-routes routes of its own; in the state they hold what the
    greenfield plan planned, in the cloud they exist as resources with the state's priority,
    direction and prefix; no plan deletes or replaces one; each compute subnet is still
    associated with its own NSG and route table in the cloud.
  spoke, amlfw's module: only azurerm_network_security_rule and azurerm_route (never an NSG, a
    route table or an association); exactly the plan's NSG rules and routes, each in its region's
    own NSG / route table of the spoke (not an implicit one the cloud made up), NSG priorities in
    the scenario's band; the cloud holds every rule of each NSG and route table that a state
    holds, and nothing else.
  hub: exactly one rule collection group, the scenario's, in the hub's firewall policy, holding
    the plan's firewall rules; no resource is in both states.
  plans: no greenfield plan deletes anything; every replan is all no-op.

--self-test runs the checks on copies of RUN_DIR's data, each broken in one way (an own rule
dropped from the cloud as an inline NSG PUT drops it, a module rule moved out of the band, a
replace in a plan...), and fails unless every broken copy is refused.
Prints one line per failure; exit 1 when any check (or any self-test case) fails.
"""
import copy
import json
import pathlib
import sys

MODULE = "module.azureml_network_rules."
MODULE_TYPES = {"azurerm_network_security_rule", "azurerm_route"}
ROOTS = ("hub", "spoke")


def load(run_dir):
    run = pathlib.Path(run_dir)
    state = run / "state"
    data = {"amlfw": json.loads((run / "amlfw-plan.json").read_text()),
            "cloud": json.loads((state / "cloud.json").read_text())["objects"]}
    for root in ROOTS:
        data[f"{root}_state"] = json.loads((state / f"{root}.tfstate").read_text())
        for phase in ("plan", "replan"):
            data[f"{root}_{phase}"] = json.loads((state / f"{root}.{phase}.json").read_text())
    return data


def instances(tfstate):
    """{address: (type, attributes)} of the managed resources of a state."""
    out = {}
    for resource in tfstate.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = (resource["module"] + "." if resource.get("module") else "") + f'{resource["type"]}.{resource["name"]}'
        for instance in resource["instances"]:
            key = instance.get("index_key")
            suffix = "" if key is None else (f"[{key}]" if isinstance(key, int) else f'["{key}"]')
            out[base + suffix] = (resource["type"], instance["attributes"])
    return out


def lower(value):
    return value.lower() if isinstance(value, str) else value


def check(data, own_nsg_rules, own_routes):
    failures = []
    fail = failures.append
    cloud = data["cloud"]
    plan = data["amlfw"]
    first, last = plan["outputs"]["nsg_priorities"]["first"], plan["outputs"]["nsg_priorities"]["last"]
    spoke = instances(data["spoke_state"])
    hub = instances(data["hub_state"])

    def in_cloud(address, attributes):
        entry = cloud.get(lower(attributes.get("id")))
        if entry is None or entry["managed_by"] != "resource":
            fail(f"{address}: missing from the cloud ({attributes.get('id')})")
            return None
        return entry["props"]

    # -- the spoke's own resources
    own = {a: v for a, v in spoke.items() if not a.startswith("module.")}
    module = {a: v for a, v in spoke.items() if a.startswith(MODULE)}
    planned = {c["address"]: c["change"] for c in data["spoke_plan"].get("resource_changes", [])}
    nsgs = {a["name"]: a for t, a in own.values() if t == "azurerm_network_security_group"}
    tables = {a["name"]: a for t, a in own.values() if t == "azurerm_route_table"}
    if not nsgs or not tables:
        fail(f"spoke state: {len(nsgs)} NSG(s) and {len(tables)} route table(s) of its own; expected at least one of each")
    for address, (kind, attributes) in sorted(own.items()):
        change = planned.get(address)
        if change is None:
            fail(f"{address}: in the spoke state but not in its greenfield plan")
            continue
        unknown = change.get("after_unknown") or {}
        for key, value in (change.get("after") or {}).items():
            if unknown.get(key) is not True and attributes.get(key) != value:
                fail(f"{address}: {key} is {attributes.get(key)!r} in the state, {value!r} in the greenfield plan")
        if kind == "azurerm_network_security_rule":
            props = in_cloud(address, attributes)
            if props and (props.get("priority"), lower(props.get("direction"))) != (
                    attributes["priority"], lower(attributes["direction"])):
                fail(f"{address}: the cloud has priority {props.get('priority')} {props.get('direction')}, "
                     f"the state {attributes['priority']} {attributes['direction']}")
        elif kind == "azurerm_route":
            props = in_cloud(address, attributes)
            if props and props.get("address_prefix") != attributes["address_prefix"]:
                fail(f"{address}: the cloud routes {props.get('address_prefix')}, the state {attributes['address_prefix']}")
        elif kind in ("azurerm_network_security_group", "azurerm_route_table", "azurerm_subnet"):
            in_cloud(address, attributes)
    for name, nsg in sorted(nsgs.items()):
        mine = [a for t, a in own.values() if t == "azurerm_network_security_rule"
                and a["network_security_group_name"] == name]
        if len(mine) != own_nsg_rules:
            fail(f"NSG {name}: {len(mine)} separate rule(s) of its own in the state, expected {own_nsg_rules}")
    for name, table in sorted(tables.items()):
        mine = [a for t, a in own.values() if t == "azurerm_route" and a["route_table_name"] == name]
        if len(mine) != own_routes:
            fail(f"route table {name}: {len(mine)} route(s) of its own in the state, expected {own_routes}")
    for kind, field, target in (("azurerm_subnet_network_security_group_association", "network_security_group_id",
                                 "network_security_group_id"),
                                ("azurerm_subnet_route_table_association", "route_table_id", "route_table_id")):
        for address, (t, attributes) in sorted(own.items()):
            if t != kind:
                continue
            subnet = cloud.get(lower(attributes["subnet_id"]))
            has = subnet and lower(subnet["props"].get(field))
            if has != lower(attributes[target]):
                fail(f"{address}: the subnet in the cloud has {field} {has}, the association {attributes[target]}")

    # -- amlfw's module in the spoke
    for address, (kind, _) in sorted(module.items()):
        if kind not in MODULE_TYPES:
            fail(f"{address}: the spoke module manages {kind}; in existing mode it adds only rules and routes")
    by_name = {(kind, a["name"]): (address, a) for address, (kind, a) in module.items()}
    expected = set()
    for rule in plan["rules"]:
        if rule["kind"] not in ("nsg", "route"):
            continue
        kind = "azurerm_network_security_rule" if rule["kind"] == "nsg" else "azurerm_route"
        expected.add((kind, rule["id"]))
        found = by_name.get((kind, rule["id"]))
        if found is None:
            fail(f"amlfw rule {rule['id']}: no {kind} of that name in the spoke state")
            continue
        address, attributes = found
        parents = nsgs if kind == "azurerm_network_security_rule" else tables
        parent_name = attributes["network_security_group_name" if rule["kind"] == "nsg" else "route_table_name"]
        parent = parents.get(parent_name)
        if parent is None or parent["location"] != rule["region"] or parent["resource_group_name"] != attributes["resource_group_name"]:
            fail(f"{address}: goes into {attributes['resource_group_name']}/{parent_name}, which is not the spoke's own "
                 f"{'NSG' if rule['kind'] == 'nsg' else 'route table'} in {rule['region']}")
        elif cloud.get(lower(parent["id"]), {}).get("managed_by") != "resource":
            fail(f"{address}: its parent {parent['id']} is not a resource in the cloud")
        props = in_cloud(address, attributes)
        if rule["kind"] == "nsg":
            if not first <= attributes["priority"] <= last:
                fail(f"{address}: priority {attributes['priority']} outside the scenario's band {first}-{last}")
            if props and props.get("priority") != attributes["priority"]:
                fail(f"{address}: the cloud has priority {props.get('priority')}, the state {attributes['priority']}")
        elif props and props.get("address_prefix") != rule["destinations"][0]:
            fail(f"{address}: the cloud routes {props.get('address_prefix')}, the plan {rule['destinations'][0]}")
    for (kind, name), (address, _) in sorted(by_name.items()):
        if kind in MODULE_TYPES and (kind, name) not in expected:
            fail(f"{address}: in the spoke state but not a rule of the plan")
    # The cloud's children of each own NSG / route table are exactly the rules the spoke state holds.
    for parents, segment, kind in ((nsgs, "securityrules", "azurerm_network_security_rule"),
                                   (tables, "routes", "azurerm_route")):
        for name, parent in sorted(parents.items()):
            prefix = lower(parent["id"]) + f"/{segment}/"
            in_the_cloud = {k[len(prefix):] for k in cloud if k.startswith(prefix)}
            in_state = {lower(a["name"]) for t, a in spoke.values()
                        if t == kind and lower(a["id"]).startswith(prefix)}
            if in_the_cloud != in_state:
                fail(f"{name}: the cloud holds {sorted(in_the_cloud)}, the spoke state {sorted(in_state)}")

    # -- the hub
    groups = [(a, v[1]) for a, v in hub.items() if v[0] == "azurerm_firewall_policy_rule_collection_group"]
    if len(groups) != 1:
        fail(f"hub state: {len(groups)} rule collection group(s), expected exactly one")
    for address, attributes in groups:
        if (attributes["name"], attributes["priority"]) != (plan["firewall"]["rule_collection_group"],
                                                            plan["firewall"]["priority"]):
            fail(f"{address}: {attributes['name']} at {attributes['priority']}, the plan says "
                 f"{plan['firewall']['rule_collection_group']} at {plan['firewall']['priority']}")
        policies = {lower(a["id"]) for t, a in hub.values() if t == "azurerm_firewall_policy"}
        if lower(attributes["firewall_policy_id"]) not in policies:
            fail(f"{address}: joins {attributes['firewall_policy_id']}, not the hub's firewall policy")
        props = in_cloud(address, attributes)
        if props:
            rules = sorted(r for c in props.get("collections", []) for r in c["rules"])
            wanted = sorted(r["id"] for r in plan["rules"] if r["kind"].startswith("firewall-"))
            if rules != wanted:
                fail(f"{address}: the cloud's group holds {len(rules)} rules, the plan {len(wanted)}: "
                     f"{sorted(set(rules) ^ set(wanted))}")
    shared = {lower(a.get("id")) for _, a in hub.values()} & {lower(a.get("id")) for _, a in spoke.values()}
    if shared:
        fail(f"in both states: {sorted(shared)}")

    # -- the plans
    for root in ROOTS:
        owned = (lambda a: not a.startswith("module.")) if root == "spoke" else (lambda a: True)
        for phase in ("plan", "replan"):
            for change in data[f"{root}_{phase}"].get("resource_changes", []):
                if change.get("mode") == "data":
                    continue
                actions = change["change"]["actions"]
                if phase == "replan" and actions != ["no-op"]:
                    fail(f"{root} replan: {'/'.join(actions)} {change['address']}; expected 0 changes")
                elif "delete" in actions and (phase == "plan" or owned(change["address"])):
                    fail(f"{root} {phase}: {'/'.join(actions)} {change['address']}")
    return failures


def self_test(data, own_nsg_rules, own_routes):
    """Each case breaks one thing in a copy of a good run; each must be refused for that reason."""
    def cloud_key(state, address):
        return lower(instances(data[state])[address][1]["id"])

    def state_attributes(d, state, address):
        return instances(d[state])[address][1]  # the dict inside d, so mutations stick

    spoke = instances(data["spoke_state"])
    own_rule = next(a for a, v in sorted(spoke.items()) if v[0] == "azurerm_network_security_rule" and not a.startswith("module."))
    own_route = next(a for a, v in sorted(spoke.items()) if v[0] == "azurerm_route" and not a.startswith("module."))
    module_rule = next(a for a, v in sorted(spoke.items()) if v[0] == "azurerm_network_security_rule" and a.startswith(MODULE))
    module_route = next(a for a, v in sorted(spoke.items()) if v[0] == "azurerm_route" and a.startswith(MODULE))
    association = next(a for a, v in sorted(spoke.items()) if v[0] == "azurerm_subnet_network_security_group_association")

    def drop_cloud(address):
        return lambda d: d["cloud"].pop(cloud_key("spoke_state", address))

    def set_cloud(address, key, value):
        return lambda d: d["cloud"][cloud_key("spoke_state", address)]["props"].__setitem__(key, value)

    def module_priority(d):
        state_attributes(d, "spoke_state", module_rule)["priority"] = 250
        d["cloud"][cloud_key("spoke_state", module_rule)]["props"]["priority"] = 250

    def plan_action(root, phase, address, actions):
        def mutate(d):
            changes = d[f"{root}_{phase}"].setdefault("resource_changes", [])
            change = next((c for c in changes if c["address"] == address), None)
            if change is None:
                change = {"address": address, "mode": "managed", "change": {}}
                changes.append(change)
            change["change"]["actions"] = actions
        return mutate

    def duplicate_group(d):
        group = next(r for r in d["hub_state"]["resources"] if r["type"] == "azurerm_firewall_policy_rule_collection_group")
        d["hub_state"]["resources"].append(dict(copy.deepcopy(group), name="second"))

    def module_nsg(d):
        nsg = next(r for r in d["spoke_state"]["resources"] if r["type"] == "azurerm_network_security_group")
        d["spoke_state"]["resources"].append(dict(copy.deepcopy(nsg), module=MODULE.rstrip(".")))

    def move_module_rule(d):
        # A wrong resource group: the rule lands in an NSG the cloud makes up (managed_by implicit).
        state_attributes(d, "spoke_state", module_rule)["resource_group_name"] = "rg-elsewhere"

    def lose_own_rule_from_state(d):
        for resource in d["spoke_state"]["resources"]:
            if resource["type"] == "azurerm_network_security_rule" and not resource.get("module"):
                resource["instances"] = resource["instances"][1:]
                return

    def detach(d):
        subnet_id = state_attributes(d, "spoke_state", association)["subnet_id"]
        d["cloud"][lower(subnet_id)]["props"]["network_security_group_id"] = None

    def stray_rule(d):
        key = cloud_key("spoke_state", own_rule)
        d["cloud"][key.rsplit("/", 1)[0] + "/stray"] = dict(d["cloud"][key], id="stray")

    cases = [
        ("own NSG rule gone from the cloud (an inline NSG PUT)", "missing from the cloud", drop_cloud(own_rule)),
        ("own route gone from the cloud", "missing from the cloud", drop_cloud(own_route)),
        ("own NSG rule's priority changed in the cloud", "the cloud has priority 210", set_cloud(own_rule, "priority", 210)),
        ("own route's prefix changed in the cloud", "the cloud routes 192.168.0.0/17", set_cloud(own_route, "address_prefix", "192.168.0.0/17")),
        ("own NSG rule missing from the state", "1 separate rule(s) of its own", lose_own_rule_from_state),
        ("amlfw NSG rule gone from the cloud", "missing from the cloud", drop_cloud(module_rule)),
        ("amlfw route gone from the cloud", "missing from the cloud", drop_cloud(module_route)),
        ("amlfw NSG rule moved out of the band", "outside the scenario's band", module_priority),
        ("amlfw NSG rule in another resource group's NSG", "not the spoke's own NSG", move_module_rule),
        ("a rule in the cloud no state holds", "'stray'", stray_rule),
        ("the module manages an NSG", "adds only rules and routes", module_nsg),
        ("a compute subnet lost its NSG", "network_security_group_id None", detach),
        ("the spoke replan replaces an own rule", "delete/create", plan_action("spoke", "replan", own_rule, ["delete", "create"])),
        ("the spoke greenfield plan deletes an own route", "spoke plan: delete", plan_action("spoke", "plan", own_route, ["delete"])),
        ("the hub replan updates the group", "hub replan: update", plan_action(
            "hub", "replan", "module.azureml_firewall_rules.azurerm_firewall_policy_rule_collection_group.azureml",
            ["update"])),
        ("two rule collection groups in the hub state", "2 rule collection group(s)", duplicate_group),
    ]
    missed = 0
    for name, expected, mutate in cases:
        broken = copy.deepcopy(data)
        mutate(broken)
        found = [f for f in check(broken, own_nsg_rules, own_routes) if expected in f]
        if found:
            print(f"    refused: {name}: {found[0][:110]}")
        else:
            print(f"    FAIL not refused ({expected!r} not reported): {name}")
            missed += 1
    print(f"    self-test: {len(cases) - missed} of {len(cases)} broken runs refused")
    return missed


def main():
    args = sys.argv[1:]
    test = "--self-test" in args
    args = [a for a in args if a != "--self-test"]
    own_nsg_rules, own_routes = 2, 1  # the spoke: two rules of its own per NSG, one route per table
    data = load(args[0])
    failures = check(data, own_nsg_rules, own_routes)
    for failure in failures:
        print(f"    FAIL {failure}")
    if test:
        if failures:
            print("    self-test: not run, the unbroken run already fails")
            return 1
        return 1 if self_test(data, own_nsg_rules, own_routes) else 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

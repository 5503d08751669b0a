#!/usr/bin/env bash
# A provider-neutral CI job: fail the pipeline when the committed Azure ML firewall modules
# are not what amlfw generates from the committed scenario. Call it from any CI system
# (GitHub Actions `run:`, Azure Pipelines `script:`, GitLab `script:`, Jenkins `sh`).
#
#   SCENARIO  the scenario file (default azureml/scenario.yaml)
#   OUT       the directory holding terraform/ and bicep/ (default azureml/firewall)
#   AMLFW_REF the amlfw git revision to install (default: the latest on its main branch)
#
# Exit codes: 0 up to date; 1 drift (the unified diff is printed, ready for a PR comment);
# 2 the scenario or the output directory has a problem (every problem is printed).
set -euo pipefail
scenario="${SCENARIO:-azureml/scenario.yaml}"
out="${OUT:-azureml/firewall}"
if ! command -v amlfw >/dev/null; then
  # Pin AMLFW_REF so a catalog update reaches you as a reviewed change, not a red build.
  cargo install --locked --git "${AMLFW_REPO:-https://github.com/<owner>/amlfw}" ${AMLFW_REF:+--rev "$AMLFW_REF"} amlfw
fi
amlfw --version
status=0
amlfw generate "$scenario" --out "$out" --check --color never || status=$?
if [ "$status" -eq 1 ]; then
  echo "amlfw: the modules in $out are stale: run 'amlfw generate $scenario --out $out' and commit the result" >&2
fi
exit "$status"

#!/usr/bin/env bash
# Rebuilds every scenario directory of examples/changes from examples/acme: each scenario is a
# complete copy of the Acme model with one edit, so that
#   datasurface validate --base examples/acme --head examples/changes/<scenario> --source <repo>
# works. Run it after changing examples/acme; it fails if an edit no longer applies.
set -euo pipefail
cd "$(dirname "$0")"
ACME=../acme

# scenario NAME: fresh copy of acme (README.md of the scenario is kept).
scenario() {
  local name=$1
  find "$name" -mindepth 1 ! -name README.md -delete 2>/dev/null || true
  mkdir -p "$name"
  local f
  (cd "$ACME" && find . -name '*.yaml' | LC_ALL=C sort) | while read -r f; do
    mkdir -p "$name/$(dirname "$f")"
    cp "$ACME/$f" "$name/$f"
  done
}

# edit FILE SED-SCRIPT: applies the script and fails if the file did not change.
edit() {
  local file=$1 script=$2 before
  before=$(cat "$file")
  sed -i -e "$script" "$file"
  if [[ "$(cat "$file")" == "$before" ]]; then
    echo "regenerate.sh: edit of $file did not apply: $script" >&2
    exit 1
  fi
}

SALES=zones/europe/teams/sales/datastores/SalesDB.yaml
PAYMENTS=zones/americas/teams/payments/datastores/PaymentsDB.yaml
RISK=zones/americas/teams/risk/workspaces/RiskAnalytics.yaml

scenario add-nullable-column
edit add-nullable-column/$SALES \
  '/{name: attributes, type: Variant, documentation: Free-form JSON from the checkout}/a\        - {name: coupon_code, type: VarChar(32), documentation: Voucher used at checkout}'

scenario drop-column
edit drop-column/$SALES '/        - {name: notes, type: NVarChar}/d'

scenario widen-column
edit widen-column/$SALES 's/{name: status, type: VarChar(20), nullable: false}/{name: status, type: VarChar(40), nullable: false}/'

scenario add-not-null-column
edit add-not-null-column/$PAYMENTS \
  '/        - {name: reason, type: VarChar(200)}/a\        - {name: channel, type: VarChar(16), nullable: false}'

scenario remove-deprecated-dataset
edit remove-deprecated-dataset/$SALES '/        legacy_discounts: sales.discounts/d'
edit remove-deprecated-dataset/$SALES '/    # Deprecated: discounts moved/,$d'

scenario unauthorized
edit unauthorized/$PAYMENTS \
  '/        - {name: risk_score, type: SmallInt, classifications: \[IP\]}/a\        - {name: fraud_flag, type: Boolean, classifications: [IP]}'

scenario lint-error
edit lint-error/$RISK 's/        - {datastore: PaymentsDB, dataset: refunds}/        - {datastore: PaymentsDB, dataset: chargebacks}/'

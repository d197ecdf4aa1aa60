#!/usr/bin/env bash
# Script-level contract of the sandbox CLI, as a shell user drives it (bash + curl only):
# `serve` on port 0 prints its endpoint URL, exactly, as the first stdout line; `sandbox token` prints a token;
# `sandbox seed` loads a vCard; `sandbox deny` makes the API answer the privacy refusal;
# /_sandbox/stats is JSON with the documented keys; SIGTERM stops the server with status 0.
# Usage: tests/cli_contract.sh [path/to/orange-contacts]
set -euo pipefail

BIN=${1:-target/debug/orange-contacts}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DB="$WORK/sandbox.db"
"$BIN" serve --db "$DB" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    [[ -s "$WORK/serve.out" ]] && break
    sleep 0.1
done
URL=$(head -n 1 "$WORK/serve.out")
[[ "$URL" == "http://"* && "$URL" != *" "* ]] || fail "first line is not the endpoint URL: '$URL'"
BASE=${URL%/PersonalContacts/V1}
[[ "$URL" == */PersonalContacts/V1 ]] || fail "endpoint path: $URL"

TOKEN=$("$BIN" sandbox token --db "$DB" --user alice | tail -n 1)
[[ "$TOKEN" == B64* && "$TOKEN" == *"|"* ]] || fail "token shape"
AGAIN=$("$BIN" sandbox token --db "$DB" --user alice | tail -n 1)
[[ "$TOKEN" == "$AGAIN" ]] || fail "token not stable"
ENC_TOKEN=$(printf '%s' "$TOKEN" | sed -e 's/%/%25/g' -e 's/+/%2B/g' -e 's/\//%2F/g' -e 's/=/%3D/g' -e 's/|/%7C/g')

cat >"$WORK/seed.vcf" <<'VCF'
BEGIN:VCARD
VERSION:3.0
N:Smith;Robert;;;
FN:Robert Smith
ADR;TYPE=HOME:;;24 Fascination Street;London;;766546;UK
END:VCARD
VCF
"$BIN" sandbox seed --db "$DB" --user alice "$WORK/seed.vcf" >"$WORK/seed.out" 2>"$WORK/seed.err" ||
    fail "seed: $(cat "$WORK/seed.err")"
grep -q "seeded 1 contacts" "$WORK/seed.out" || fail "seed output: $(cat "$WORK/seed.out")"
FOUND=$(curl -sS "$URL?action=findcontactlist&search=smith&token=$ENC_TOKEN")
grep -q 'total-data="1"' <<<"$FOUND" || fail "seeded contact not found: $FOUND"
grep -q '<lastname>Smith</lastname>' <<<"$FOUND" || fail "seeded name: $FOUND"

OK=$(curl -sS "$URL?action=findcontactlist&search=a&token=$ENC_TOKEN")
grep -q '<result>0</result>' <<<"$OK" || fail "findcontactlist: $OK"

"$BIN" sandbox deny --db "$DB" --user alice >/dev/null
STATUS=$(curl -sS -o "$WORK/denied.xml" -w '%{http_code}' "$URL?action=findcontactlist&search=a&token=$ENC_TOKEN")
[[ "$STATUS" == 500 ]] || fail "denied status $STATUS"
grep -q '<code>-3</code><detail>PrivacyAccessDeniedException</detail>' "$WORK/denied.xml" || fail "denied body"
grep -q 'family=contact&amp;serviceId=' "$WORK/denied.xml" || fail "denied url"

STATS=$(curl -sS "$BASE/_sandbox/stats")
for key in '"requests"' '"rejected"' '"rate_limited"' '"invalid"' '"unauthorized"' '"privacy"' \
    '"faults_injected"' '"findcontactlist"'; do
    grep -q "$key" <<<"$STATS" || fail "stats lacks $key: $STATS"
done
grep -q '"privacy":1' <<<"$STATS" || fail "privacy count: $STATS"

kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
CODE=$?
set -e
SERVER_PID=
[[ "$CODE" == 0 ]] || fail "serve exit status $CODE after SIGTERM"
echo "cli contract OK"

#!/usr/bin/env bash
# Change a Hypernode setting from a deploy script, wait until the change has really happened,
# and react to each way it can end.
#
#   HYPERNODE_API_TOKEN=... HYPERNODE_APP_NAME=myshop ./deploy.sh php_version 8.3
#
# Needs bash, curl, python3 and hn-wait (pip install hn-wait). HYPERNODE_API_URL points it at
# another API (hn-wait's own test suite runs this script against its local simulator).
set -euo pipefail

api_url="${HYPERNODE_API_URL:-https://api.hypernode.com}"
api_url="${api_url%/}"
app="${HYPERNODE_APP_NAME:?set HYPERNODE_APP_NAME to the app to change}"
: "${HYPERNODE_API_TOKEN:?set HYPERNODE_API_TOKEN (keep it in your CI secrets)}"
setting="${1:?usage: deploy.sh SETTING VALUE (e.g. php_version 8.3)}"
value="${2:?usage: deploy.sh SETTING VALUE (e.g. php_version 8.3)}"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# The token goes to curl in a file, not on its command line, where `ps` would show it.
printf 'Authorization: Token %s\n' "$HYPERNODE_API_TOKEN" > "$workdir/auth"
# JSON built by python3, so any value is quoted correctly.
body="$(python3 -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' "$setting" "$value")"

echo "deploy: asking the Hypernode API to set ${setting}=${value} on ${app}"
status_code="$(
    curl --silent --show-error --request PATCH \
        --header "@$workdir/auth" \
        --header "Content-Type: application/json" \
        --data "$body" \
        --dump-header "$workdir/headers" \
        --output "$workdir/body" \
        --write-out '%{http_code}' \
        "${api_url}/v2/app/${app}/"
)"
if [ "$status_code" != "202" ]; then
    echo "deploy: the API refused the change (HTTP ${status_code}): $(head -c 300 "$workdir/body")" >&2
    exit 1
fi

# The job URL in the Location header names exactly the flows this change started.
job_url="$(awk 'tolower($1) == "location:" { print $2 }' "$workdir/headers" | tr -d '\r' | tail -n 1)"
if [ -z "$job_url" ]; then
    echo "deploy: the API accepted the change but sent no Location header to follow" >&2
    exit 1
fi

echo "deploy: waiting for ${job_url}"
set +e
hn-wait --app "$app" --timeout "${DEPLOY_WAIT_TIMEOUT:-30m}" "$job_url"
wait_status=$?
set -e

case "$wait_status" in
    0)
        echo "deploy: ${setting} is now ${value} on ${app}; continuing with the release"
        ;;
    1)
        echo "deploy: the change failed on the Hypernode (reverted); not deploying" >&2
        exit 1
        ;;
    2)
        echo "deploy: hn-wait was called wrongly (see the line above)" >&2
        exit 1
        ;;
    3)
        echo "deploy: no flow for this change showed up in the logbook; check the app name" >&2
        exit 1
        ;;
    4)
        echo "deploy: the API token was refused; check the CI secret" >&2
        exit 1
        ;;
    5)
        echo "deploy: the Hypernode API was unusable; the change may still be running, retry later" >&2
        exit 1
        ;;
    124)
        echo "deploy: still running at the timeout; it goes on on the Hypernode, rerun to wait again" >&2
        exit 1
        ;;
    130 | 143)
        echo "deploy: interrupted; the change goes on on the Hypernode" >&2
        exit "$wait_status"
        ;;
    *)
        echo "deploy: hn-wait ended with unexpected exit code ${wait_status}" >&2
        exit 1
        ;;
esac

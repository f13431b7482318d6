#!/bin/sh
# Open a remote-support session for a customer and print only its 9-digit code:
#   code=$(./create-session.sh "Jane Doe")
# Needs jq, and a `rac login` or RAC_SERVER and RAC_TOKEN in the environment.
# When rac fails, the script stops with rac's exit status (3: log in again) and prints no code.
set -eu
session=$(rac session create --customer-name "$1" --json)
printf '%s\n' "$session" | jq -r .session_code

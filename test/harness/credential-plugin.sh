#!/bin/sh
# A fake kubelet image credential provider plugin honouring the exec protocol: reads a CredentialProviderRequest
# on stdin, writes a CredentialProviderResponse with the apiVersion it was sent. Plain sh so an execution costs
# milliseconds. Behaviour comes from args and env, as a real plugin's does: --sleep=SECONDS (answer slowly),
# --api-version=X (answer with another version), --fail (a message on stderr, status 1), --garbage (not JSON);
# env PLUGIN_AUTH (the auth map as JSON), PLUGIN_CACHE_KEY_TYPE, PLUGIN_CACHE_DURATION, PLUGIN_COUNT_FILE (one
# line per execution: the image asked for).
request=$(cat)
case "$request" in
  *'"kind":"CredentialProviderRequest"'*) ;;
  *) echo "fake plugin: not a CredentialProviderRequest" >&2; exit 2 ;;
esac
api_version=$(printf '%s' "$request" | sed -n 's/.*"apiVersion":"\([^"]*\)".*/\1/p')
image=$(printf '%s' "$request" | sed -n 's/.*"image":"\([^"]*\)".*/\1/p')
[ -n "$PLUGIN_COUNT_FILE" ] && printf '%s\n' "$image" >> "$PLUGIN_COUNT_FILE"
for arg in "$@"; do
  case "$arg" in
    --sleep=*) sleep "${arg#--sleep=}" ;;
    --api-version=*) api_version="${arg#--api-version=}" ;;
    --fail)
      echo "fake plugin: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken" >&2
      echo "second line" >&2
      exit 1 ;;
    --garbage) printf 'this is not json'; exit 0 ;;
  esac
done
duration=""
[ -n "$PLUGIN_CACHE_DURATION" ] && duration=",\"cacheDuration\":\"$PLUGIN_CACHE_DURATION\""
printf '{"kind":"CredentialProviderResponse","apiVersion":"%s","cacheKeyType":"%s"%s,"auth":%s}' \
  "$api_version" "${PLUGIN_CACHE_KEY_TYPE:-Image}" "$duration" "${PLUGIN_AUTH:-{\}}"

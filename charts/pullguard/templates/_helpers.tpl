{{/* Names, labels and the derived values every template shares. */}}

{{- define "pullguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pullguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pullguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pullguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pullguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pullguard.labels" -}}
helm.sh/chart: {{ include "pullguard.chart" . }}
{{ include "pullguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pullguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pullguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding tls.crt and tls.key for the webhook server. */}}
{{- define "pullguard.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "pullguard.fullname" .) }}
{{- end }}
{{- end }}

{{- define "pullguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* In-cluster objects (Deployment, Service, RBAC, TLS) exist unless the webhook runs outside the cluster. */}}
{{- define "pullguard.inCluster" -}}
{{- if not .Values.webhook.external }}true{{ end }}
{{- end }}

{{- define "pullguard.hasRegistryFile" -}}
{{- if or .Values.registries .Values.registryDefaults }}true{{ end }}
{{- end }}

{{/* Where the pod finds its files. Separate directories: nested mounts inside a ConfigMap volume are fragile. */}}
{{- define "pullguard.paths" -}}
configDir: /etc/pullguard
tlsDir: /etc/pullguard-tls
dockerConfigDir: /etc/pullguard-docker
credentialProvidersDir: /var/lib/pullguard/credential-providers
nodeRegistriesDir: /etc/pullguard-node-registries
nodeCertsDir: /etc/pullguard-node-certs.d
{{- end }}

{{/* registryConfig: "hostsToml", "registriesConf" or nothing; both is refused (a node runs one runtime). */}}
{{- define "pullguard.nodeRegistries" -}}
{{- $rc := .Values.registryConfig | default dict }}
{{- if and $rc.hostsToml (or $rc.registriesConf $rc.registriesConfD) }}
{{- fail "registryConfig: give hostsToml (containerd) or registriesConf (CRI-O), not both" }}
{{- end }}
{{- if and $rc.registriesConfD (not $rc.registriesConf) }}
{{- fail "registryConfig.registriesConfD needs registryConfig.registriesConf: drop-ins extend that file" }}
{{- end }}
{{- if and ($rc.certsD | default dict).secretName (not $rc.registriesConf) }}
{{- fail "registryConfig.certsD needs registryConfig.registriesConf: it is CRI-O's certs.d (containerd's certificates go beside hosts.toml)" }}
{{- end }}
{{- if $rc.hostsToml }}hostsToml{{ else if $rc.registriesConf }}registriesConf{{ end }}
{{- end }}

{{/*
config.yaml: .Values.config plus the keys the chart owns, which must agree with the rest of the chart:
the mounted certificate, the webhook's timeout, the registries file and the mounted node credentials.
*/}}
{{- define "pullguard.config" -}}
{{- $paths := include "pullguard.paths" . | fromYaml }}
{{- $cfg := deepCopy .Values.config }}
{{- $server := $cfg.server | default dict }}
{{- $_ := set $server "tlsCertFile" (printf "%s/tls.crt" $paths.tlsDir) }}
{{- $_ = set $server "tlsKeyFile" (printf "%s/tls.key" $paths.tlsDir) }}
{{- $_ = set $server "defaultTimeoutSeconds" (int .Values.webhook.timeoutSeconds) }}
{{- $_ = set $cfg "server" $server }}
{{- $registry := $cfg.registry | default dict }}
{{- $_ = set $registry "configFile" (ternary (printf "%s/registries.yaml" $paths.configDir) "" (eq (include "pullguard.hasRegistryFile" .) "true")) }}
{{- $_ = set $cfg "registry" $registry }}
{{- if .Values.nodeCredentials.existingSecret }}
{{- $credentials := $cfg.credentials | default dict }}
{{- $files := concat ($credentials.dockerConfigFiles | default list) (list (printf "%s/config.json" $paths.dockerConfigDir)) }}
{{- $_ = set $credentials "dockerConfigFiles" $files }}
{{- $_ = set $cfg "credentials" $credentials }}
{{- end }}
{{- /* Empty means unused (the server's default): left out of config.yaml. */}}
{{- range $k := list "hostsDir" "registriesConf" "certsDir" }}{{ if not (get $registry $k) }}{{ $_ := unset $registry $k }}{{ end }}{{ end }}
{{- $node := include "pullguard.nodeRegistries" . }}
{{- if eq $node "hostsToml" }}
{{- $_ = set $registry "hostsDir" (printf "%s/certs.d" $paths.nodeRegistriesDir) }}
{{- else if eq $node "registriesConf" }}
{{- $_ = set $registry "registriesConf" (printf "%s/registries.conf" $paths.nodeRegistriesDir) }}
{{- if (.Values.registryConfig.certsD | default dict).secretName }}
{{- $_ = set $registry "certsDir" $paths.nodeCertsDir }}
{{- end }}
{{- end }}
{{- if .Values.credentialProviders.enabled }}
{{- $_ = set $cfg "credentialProviders" (dict "config" (printf "%s/credential-providers.yaml" $paths.configDir) "binDir" $paths.credentialProvidersDir) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{- define "pullguard.registriesFile" -}}
{{- $file := dict }}
{{- if .Values.registries }}{{ $_ := set $file "registries" .Values.registries }}{{ end }}
{{- if .Values.registryDefaults }}{{ $_ := set $file "defaults" .Values.registryDefaults }}{{ end }}
{{- toYaml $file }}
{{- end }}

{{/* The image the credential provider plugins are copied from. */}}
{{- define "pullguard.credentialProvidersImage" -}}
{{- $img := .Values.credentialProviders.image }}
{{- if $img.digest }}{{ printf "%s@%s" $img.repository $img.digest }}{{ else }}{{ printf "%s:%s" $img.repository $img.tag }}{{ end }}
{{- end }}

{{/* Checks across values that the JSON schema cannot express with a clear message. */}}
{{- define "pullguard.validate" -}}
{{- if .Values.credentialProviders.enabled }}
{{- if not .Values.credentialProviders.config.providers }}
{{- fail "credentialProviders.enabled needs credentialProviders.config.providers: the CredentialProviderConfig the nodes use" }}
{{- end }}
{{- if not .Values.credentialProviders.image.repository }}
{{- fail "credentialProviders.enabled needs credentialProviders.image.repository: an image holding the plugin executables" }}
{{- end }}
{{- end }}
{{- if and .Values.webhook.external (not .Values.webhook.url) }}
{{- fail "webhook.external=true needs webhook.url: the API server must be told where the external webhook listens" }}
{{- end }}
{{- if and .Values.webhook.url (not .Values.tls.caBundle) }}
{{- fail "webhook.url needs tls.caBundle: base64 of the PEM CA that signed the certificate served at that URL" }}
{{- end }}
{{- if and (eq .Values.tls.mode "existingSecret") (not .Values.webhook.external) }}
{{- if not .Values.tls.existingSecret }}
{{- fail "tls.mode=existingSecret needs tls.existingSecret: the name of a kubernetes.io/tls Secret in the release namespace" }}
{{- end }}
{{- if not .Values.tls.caBundle }}
{{- fail "tls.mode=existingSecret needs tls.caBundle: base64 of the PEM CA that signed the Secret's certificate" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
V8's old-space limit in MiB: v8.maxOldSpaceSize, else v8.maxOldSpaceSizePercent of resources.limits.memory (a
quantity in Ki, Mi, Gi, Ti, k, M, G or bytes); empty without a memory limit, so V8 keeps its own default.
*/}}
{{- define "pullguard.maxOldSpaceSize" -}}
{{- $v8 := .Values.v8 | default dict -}}
{{- if $v8.maxOldSpaceSize -}}
{{- int $v8.maxOldSpaceSize -}}
{{- else -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) | toString -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $limit -}}
{{- $unit := trimPrefix $number $limit -}}
{{- $mib := dict "Ki" 0.0009765625 "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 "k" 0.00095367431640625 "M" 0.95367431640625 "G" 953.67431640625 "" 0.00000095367431640625 -}}
{{- if and $number (hasKey $mib $unit) -}}
{{- floor (mulf (float64 $number) (get $mib $unit) (divf (int $v8.maxOldSpaceSizePercent) 100)) | int -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* The container's NODE_OPTIONS (the image's own flags plus the old-space limit), unless extraEnv sets it. */}}
{{- define "pullguard.nodeOptionsEnv" -}}
{{- $own := false -}}
{{- range (.Values.extraEnv | default list) }}{{ if eq (toString .name) "NODE_OPTIONS" }}{{ $own = true }}{{ end }}{{ end -}}
{{- $maxOld := include "pullguard.maxOldSpaceSize" . -}}
{{- if and $maxOld (not $own) -}}
- name: NODE_OPTIONS
  # The Dockerfile's ENV NODE_OPTIONS (--max-semi-space-size=4) is replaced by this variable: keep it here too.
  value: {{ printf "--max-semi-space-size=4 --max-old-space-size=%s" $maxOld | quote }}
{{- end -}}
{{- end }}

{{/* The fewest replicas the chart runs: the autoscaler's minimum when it is on. */}}
{{- define "pullguard.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.minReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end -}}
{{- end }}

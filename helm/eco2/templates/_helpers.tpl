{{/*
Names, labels, the image and the pieces every eco2 container shares.
*/}}

{{- define "eco2.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "eco2.fullname" -}}
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

{{- define "eco2.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of a component's objects: "<fullname>-<suffix>", within the 63 characters of a label value. */}}
{{- define "eco2.componentName" -}}
{{- printf "%s-%s" (include "eco2.fullname" .root) .suffix | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "eco2.labels" -}}
helm.sh/chart: {{ include "eco2.chart" . }}
app.kubernetes.io/name: {{ include "eco2.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eco2
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eco2.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eco2.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of a component: dict "root" $ "component" "worker" ["pool" "chat"] */}}
{{- define "eco2.componentLabels" -}}
{{ include "eco2.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .pool }}
eco2/pool: {{ . }}
{{- end }}
{{- end }}

{{- define "eco2.componentSelectorLabels" -}}
{{ include "eco2.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .pool }}
eco2/pool: {{ . }}
{{- end }}
{{- end }}

{{- define "eco2.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eco2.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image: dict "image" <values.image-like> "default" <tag> */}}
{{- define "eco2.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .default .image.tag) }}
{{- end }}
{{- end }}

{{- define "eco2.image" -}}
{{- include "eco2.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/* The chart's own Secret: rendered only when some credential is given inline. */}}
{{- define "eco2.secretName" -}}
{{- include "eco2.fullname" . }}
{{- end }}

{{- define "eco2.apiKeys" -}}
LANGCHAIN_API_KEY: langsmithApiKey
OPENAI_API_KEY: openaiApiKey
KAKAO_REST_API_KEY: kakaoRestApiKey
DATA_GO_KR_SERVICE_KEY: dataGoKrServiceKey
KECO_API_KEY: kecoApiKey
{{- end }}

{{/* "true" when the chart renders its own Secret. */}}
{{- define "eco2.secretNeeded" -}}
{{- $v := .Values }}
{{- $keys := and (not $v.secrets.existingSecret) (or $v.secrets.langsmithApiKey $v.secrets.openaiApiKey $v.secrets.kakaoRestApiKey $v.secrets.dataGoKrServiceKey $v.secrets.kecoApiKey) }}
{{- $redis := and $v.redis.auth.enabled (not $v.redis.auth.existingSecret) }}
{{- $checkpoint := and (not $v.checkpoint.sqliteSingleReplica) (not $v.checkpoint.existingSecret) $v.checkpoint.url }}
{{- $flower := and $v.flower.enabled (not $v.flower.auth.existingSecret) $v.flower.auth.basicAuth }}
{{- if or $keys $redis $checkpoint $flower }}true{{ end }}
{{- end }}

{{/* Where the Redis password and the checkpoint URL come from: dict name key. */}}
{{- define "eco2.redisPasswordRef" -}}
name: {{ .Values.redis.auth.existingSecret | default (include "eco2.secretName" .) }}
key: {{ if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecretPasswordKey }}{{ else }}REDIS_PASSWORD{{ end }}
{{- end }}

{{- define "eco2.checkpointRef" -}}
name: {{ .Values.checkpoint.existingSecret | default (include "eco2.secretName" .) }}
key: {{ if .Values.checkpoint.existingSecret }}{{ .Values.checkpoint.existingSecretKey }}{{ else }}ECO2_CHECKPOINT_URL{{ end }}
{{- end }}

{{- define "eco2.redisCaDir" -}}/etc/eco2/redis-ca{{- end }}

{{/*
ECO2_REDIS_URL. The password is never rendered: Kubernetes expands $(ECO2_REDIS_PASSWORD) from the env
entry defined just before this one (a secretKeyRef). TLS options ride in the query string, which Celery's
broker (kombu), its result backend and redis-py all read.
*/}}
{{- define "eco2.redisUrl" -}}
{{- $r := .Values.redis }}
{{- $auth := "" }}
{{- if $r.auth.enabled }}
{{- $auth = printf "%s:$(ECO2_REDIS_PASSWORD)@" $r.username }}
{{- else if $r.username }}
{{- $auth = printf "%s@" $r.username }}
{{- end }}
{{- $query := list }}
{{- if $r.tls.enabled }}
{{- $query = append $query (printf "ssl_cert_reqs=%s" (ternary "required" "none" $r.tls.verify)) }}
{{- if $r.tls.caSecret }}
{{- $query = append $query (printf "ssl_ca_certs=%s/%s" (include "eco2.redisCaDir" .) $r.tls.caKey) }}
{{- end }}
{{- end }}
{{- printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" $r.tls.enabled) $auth $r.host (int $r.port) (int $r.db) }}
{{- if $query }}?{{ join "&" $query }}{{ end }}
{{- end }}

{{/* The env entries that reach Redis and the broker: used by every eco2 container and the exporter. */}}
{{- define "eco2.redisEnv" -}}
{{- if .Values.redis.auth.enabled }}
- name: ECO2_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- include "eco2.redisPasswordRef" . | nindent 6 }}
{{- end }}
- name: ECO2_REDIS_URL
  value: {{ include "eco2.redisUrl" . | quote }}
{{- if eq .Values.broker.kind "rabbitmq" }}
- name: ECO2_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.broker.rabbitmq.existingSecret }}
      key: {{ .Values.broker.rabbitmq.existingSecretKey }}
{{- end }}
{{- end }}

{{/* The broker URL as a reference Kubernetes expands from the env entries above (never a credential). */}}
{{- define "eco2.brokerUrlRef" -}}
{{- if eq .Values.broker.kind "rabbitmq" }}$(ECO2_BROKER_URL){{ else }}$(ECO2_REDIS_URL){{ end }}
{{- end }}

{{/* API keys as optional secretKeyRefs: a key missing from an existing Secret leaves its feature off. */}}
{{- define "eco2.apiKeyEnv" -}}
{{- $name := .Values.secrets.existingSecret | default (include "eco2.secretName" .) }}
{{- $given := not (empty .Values.secrets.existingSecret) }}
{{- range $env, $field := include "eco2.apiKeys" . | fromYaml }}
{{- if or $given (index $.Values.secrets $field) }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $env }}
      optional: true
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of the eco2 containers that talk to Redis (workers, Flower). API keys: workers only. */}}
{{- define "eco2.commonEnv" -}}
{{ include "eco2.redisEnv" . | trim }}
- name: ECO2_STATE_DIR
  value: /var/lib/eco2
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eco2.envFrom" -}}
- configMapRef:
    name: {{ include "eco2.componentName" (dict "root" . "suffix" "config") }}
{{- with .Values.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings every pod of the chart shares. */}}
{{- define "eco2.podCommon" -}}
serviceAccountName: {{ include "eco2.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Pod annotations: checksums roll the pods when the config or the chart's Secret changes. */}}
{{- define "eco2.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The Redis CA volume and mount, when a private CA is configured. */}}
{{- define "eco2.redisCaVolume" -}}
{{- if and .Values.redis.tls.enabled .Values.redis.tls.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.tls.caSecret }}
    items:
      - key: {{ .Values.redis.tls.caKey }}
        path: {{ .Values.redis.tls.caKey }}
{{- end }}
{{- end }}

{{- define "eco2.redisCaMount" -}}
{{- if and .Values.redis.tls.enabled .Values.redis.tls.caSecret }}
- name: redis-ca
  mountPath: {{ include "eco2.redisCaDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The queues every pool of this release consumes, comma-separated. */}}
{{- define "eco2.consumedQueues" -}}
{{- $queues := list }}
{{- range .Values.pools }}
{{- $queues = concat $queues .queues }}
{{- end }}
{{- $queues | uniq | join "," }}
{{- end }}

{{/*
Celery's soft shutdown timeout (worker_soft_shutdown_timeout in tasks/celeryconfig.py): a constant of the
code, not a setting, mirrored here so the chart can check the grace period against it.
tests/helm checks that the two agree.
*/}}
{{- define "eco2.celerySoftShutdownSeconds" -}}10{{- end }}

{{/*
The autoscaler of the release: "keda", "hpa" or "none". auto picks KEDA when the cluster serves its API.
*/}}
{{- define "eco2.autoscaler" -}}
{{- $engine := .Values.autoscaling.engine }}
{{- if eq $engine "auto" }}
{{- ternary "keda" "hpa" (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject") }}
{{- else }}
{{- $engine }}
{{- end }}
{{- end }}

{{/* A pool's autoscaler given the release's: dict "root" $ "pool" <pool> */}}
{{- define "eco2.poolAutoscaler" -}}
{{- if and .pool.autoscaling .pool.autoscaling.enabled }}
{{- include "eco2.autoscaler" .root }}
{{- else }}none{{- end }}
{{- end }}

{{/*
A probe that passes when the heartbeat file was touched within .seconds. No Python is started: the file's
age comes from stat and date.
*/}}
{{- define "eco2.heartbeatProbe" -}}
exec:
  command:
    - sh
    - -c
    - test $(( $(date +%s) - $(stat -c %Y /tmp/eco2.heartbeat 2>/dev/null || echo 0) )) -lt {{ .seconds }}
{{- end }}

{{/*
Headroom of a worker pod outside its pool processes (the main process, ~110 MiB), in MiB.
*/}}
{{- define "eco2.workerHeadroomMB" -}}256{{- end }}

{{/*
The smallest per-process bound the chart derives (MiB): an eco2 pool process holds ~250 MiB after start.
*/}}
{{- define "eco2.minProcessMB" -}}320{{- end }}

{{/*
What the chart budgets for a threads pool's worker process (MiB): ~260 MiB after start, measured.
*/}}
{{- define "eco2.threadProcessMB" -}}384{{- end }}

{{/*
What the chart budgets per slot of a threads pool (MiB): an open stream measured ~0.25 MiB.
*/}}
{{- define "eco2.streamMB" -}}1{{- end }}

{{/*
A threads pool's memory need (MiB): processes x (process budget + concurrency x slot budget).
*/}}
{{- define "eco2.threadsPoolMB" -}}
{{- mul (.processes | default 1 | int) (add (include "eco2.threadProcessMB" . | int) (mul (.concurrency | int) (include "eco2.streamMB" . | int))) }}
{{- end }}

{{/*
A pool's memory limit as written (resources.limits.memory), else "".
*/}}
{{- define "eco2.poolLimit" -}}
{{- toString (dig "limits" "memory" "" (.resources | default dict)) }}
{{- end }}

{{/*
A pool's memory limit in MiB when it is written in Mi or Gi, else "".
*/}}
{{- define "eco2.poolLimitMB" -}}
{{- $limit := include "eco2.poolLimit" . }}
{{- if regexMatch "^[0-9]+Mi$" $limit }}
{{- trimSuffix "Mi" $limit }}
{{- else if regexMatch "^[0-9]+Gi$" $limit }}
{{- mul (trimSuffix "Gi" $limit | int) 1024 }}
{{- end }}
{{- end }}

{{/*
ECO2_WORKER_MAX_MEMORY_MB of a prefork pool: its maxMemoryPerChildMB, else its memory limit less the
headroom, shared by its processes, so a growing process is replaced before the pod is OOM-killed.
"" for thread pools (Celery recycles only prefork processes) or when neither is known.
*/}}
{{- define "eco2.poolMaxMemoryMB" -}}
{{- if eq .pool "prefork" }}
{{- if hasKey . "maxMemoryPerChildMB" }}
{{- .maxMemoryPerChildMB | int }}
{{- else }}
{{- $limit := include "eco2.poolLimitMB" . }}
{{- if $limit }}
{{- div (sub ($limit | int) (include "eco2.workerHeadroomMB" . | int)) (.concurrency | int) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checks that span several values, which values.schema.json cannot express (or which older Helm versions'
schema validators ignore). Each one fails the render with a message that says what to change.
Included once, from configmap.yaml.
*/}}
{{- define "eco2.validate" -}}
{{- $v := .Values }}
{{- $soft := include "eco2.celerySoftShutdownSeconds" . | int }}

{{- /* Pool names become object names and label values; they must be unique. */}}
{{- $names := list }}
{{- range $v.pools }}
{{- if has .name $names }}
{{- fail (printf "eco2: pools: the pool name %q is used twice; each pool needs its own name." .name) }}
{{- end }}
{{- $names = append $names .name }}
{{- end }}

{{- /* A RabbitMQ broker's URL holds its password, so it only ever comes from a Secret. */}}
{{- if and (eq $v.broker.kind "rabbitmq") (not $v.broker.rabbitmq.existingSecret) }}
{{- fail "eco2: broker.kind is rabbitmq but broker.rabbitmq.existingSecret is empty. Create a Secret holding the AMQP URL (amqp://user:password@host:5672/vhost) and name it there." }}
{{- end }}

{{- /* Every queue of the subagent registry needs a consumer, or its tasks wait forever. */}}
{{- if not $v.workers.allowUnconsumedQueues }}
{{- $consumed := splitList "," (include "eco2.consumedQueues" .) }}
{{- range list "eco2.chat" "eco2.io" "eco2.cpu" }}
{{- if not (has . $consumed) }}
{{- fail (printf "eco2: no pool consumes the queue %s, so its tasks would wait forever. Add it to a pool's queues, or set workers.allowUnconsumedQueues=true if another release consumes it." .) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* Celery's soft shutdown must end well before Kubernetes sends SIGKILL. */}}
{{- $grace := int $v.workers.terminationGracePeriodSeconds }}
{{- range $v.pools }}
{{- $poolGrace := int (default $grace .terminationGracePeriodSeconds) }}
{{- if le $poolGrace (add $soft 15) }}
{{- fail (printf "eco2: pool %s: terminationGracePeriodSeconds (%d) must exceed Celery's soft shutdown (%d s) by more than 15 s, the time the cold shutdown needs to requeue unfinished tasks and flush telemetry." .name $poolGrace $soft) }}
{{- end }}
{{- end }}

{{- /* A pool process must be recycled before its pod reaches the memory limit, and not after every task. */}}
{{- range $v.pools }}
{{- if eq .pool "prefork" }}
{{- $limit := include "eco2.poolLimitMB" . }}
{{- $rawLimit := include "eco2.poolLimit" . }}
{{- if hasKey . "maxMemoryPerChildMB" }}
{{- if $limit }}
{{- $room := sub ($limit | int) (include "eco2.workerHeadroomMB" . | int) }}
{{- if gt (mul (.maxMemoryPerChildMB | int) (.concurrency | int)) $room }}
{{- fail (printf "eco2: pool %s: %d processes of up to maxMemoryPerChildMB=%d MiB do not fit its memory limit (%d MiB, of which %s are the main process's headroom): the pod would be OOM-killed before a process is recycled. Lower maxMemoryPerChildMB or concurrency, or raise the limit." .name (.concurrency | int) (.maxMemoryPerChildMB | int) ($limit | int) (include "eco2.workerHeadroomMB" .)) }}
{{- end }}
{{- end }}
{{- else if and $rawLimit (not $limit) }}
{{- fail (printf "eco2: pool %s: its memory limit %q is not in Mi or Gi, so the chart cannot derive how large a pool process may grow; write it in Mi or Gi, or set the pool's maxMemoryPerChildMB (0: never recycle)." .name $rawLimit) }}
{{- else if $limit }}
{{- $derived := include "eco2.poolMaxMemoryMB" . | int }}
{{- if lt $derived (include "eco2.minProcessMB" . | int) }}
{{- fail (printf "eco2: pool %s: its memory limit (%d MiB) leaves %d MiB per process after %s MiB for the main process; an eco2 pool process holds ~250 MiB and needs at least %s MiB, or it would be replaced after every task. Raise the limit, lower concurrency, or set the pool's maxMemoryPerChildMB (0: never recycle)." .name ($limit | int) $derived (include "eco2.workerHeadroomMB" .) (include "eco2.minProcessMB" .)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- /* A threads pool must hold a stream (or any task) in every slot of every process within its limit. */}}
{{- range $v.pools }}
{{- if eq .pool "threads" }}
{{- $limit := include "eco2.poolLimitMB" . }}
{{- $rawLimit := include "eco2.poolLimit" . }}
{{- $need := include "eco2.threadsPoolMB" . | int }}
{{- if and $rawLimit (not $limit) }}
{{- fail (printf "eco2: pool %s: its memory limit %q is not in Mi or Gi, so the chart cannot check that its %d slots fit; write it in Mi or Gi." .name $rawLimit (.concurrency | int)) }}
{{- else if and $limit (gt $need ($limit | int)) }}
{{- fail (printf "eco2: pool %s: %d process(es), each %s MiB plus %d slots of %s MiB, need %d MiB, over its memory limit (%d MiB): with every slot streaming the pod would be OOM-killed. Lower concurrency or processes, or raise the limit (docs/deploy.md, sizing)." .name (.processes | default 1 | int) (include "eco2.threadProcessMB" .) (.concurrency | int) (include "eco2.streamMB" .) $need ($limit | int)) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* SQLite checkpoints live in one pod: exactly one replica of one pool may run eco2.chat tasks. */}}
{{- if $v.checkpoint.sqliteSingleReplica }}
{{- $chatPools := 0 }}
{{- range $v.pools }}
{{- if has "eco2.chat" .queues }}
{{- $chatPools = add1 $chatPools }}
{{- if ne (int .replicas) 1 }}
{{- fail (printf "eco2: checkpoint.sqliteSingleReplica keeps checkpoints in one pod, so pool %s (which consumes eco2.chat) must have replicas: 1; use checkpoint.url=postgresql://... to run more." .name) }}
{{- end }}
{{- if and .autoscaling .autoscaling.enabled (ne $v.autoscaling.engine "none") }}
{{- fail (printf "eco2: checkpoint.sqliteSingleReplica keeps checkpoints in one pod, so pool %s (which consumes eco2.chat) cannot autoscale: set its autoscaling.enabled=false, or use checkpoint.url=postgresql://..." .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if gt $chatPools 1 }}
{{- fail "eco2: checkpoint.sqliteSingleReplica keeps checkpoints in one pod, so only one pool may consume eco2.chat." }}
{{- end }}
{{- end }}

{{- /* The character server must stop (preStop pause, then --grace) before SIGKILL. */}}
{{- if $v.character.enabled }}
{{- if le (int $v.character.terminationGracePeriodSeconds) (add 5 (int $v.character.graceSeconds)) }}
{{- fail (printf "eco2: character.terminationGracePeriodSeconds (%d) must exceed the 5 s preStop pause plus character.graceSeconds (%d)." (int $v.character.terminationGracePeriodSeconds) (int $v.character.graceSeconds)) }}
{{- end }}
{{- end }}

{{- /* KEDA and HPA replica bounds. */}}
{{- range $v.pools }}
{{- if and .autoscaling .autoscaling.enabled }}
{{- if lt (int .autoscaling.maxReplicas) (int .autoscaling.minReplicas) }}
{{- fail (printf "eco2: pool %s: autoscaling.maxReplicas (%d) is below minReplicas (%d)." .name (int .autoscaling.maxReplicas) (int .autoscaling.minReplicas)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

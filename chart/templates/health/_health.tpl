{{/*
Backup health: the targets document status and metrics read (what is enabled, buckets, instances,
claims, schedules, CronJob names, paused flags), the pod they run in (the job pod: storage credentials,
the Elasticsearch credentials and the restic password when those stores are on), and its Role (read
CronJobs and Jobs in the release namespace).
*/}}

{{- define "stackbackup.health.targets" -}}
{{- $full := include "stackbackup.fullname" . -}}
{{- $b := .Values.backup -}}
{{- $targets := list -}}
{{- if and $b.enabled (include "stackbackup.mode" .) -}}
{{- $sg := $b.stackGraph -}}
{{- if $sg.enabled -}}
{{- $t := dict "store" "stackgraph" "target" "stackgraph" "list" (dict "bucket" $sg.bucketName) "paused" (not $sg.scheduled.enabled) -}}
{{- if $sg.scheduled.enabled -}}
{{- $_ := set $t "schedule" $sg.scheduled.schedule -}}
{{- $_ := set $t "cronJob" (printf "%s-stackgraph-backup" $full | trunc 52 | trimSuffix "-") -}}
{{- $_ := set $t "prune" (dict "bucket" $sg.bucketName "retention" $sg.scheduled.backupRetentionTimeDelta "minCount" (toString $sg.scheduled.backupRetentionMinCount)) -}}
{{- end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- range $name := include "stackbackup.vm.instances" $ | fromJsonArray -}}
{{- $vm := index $.Values $name -}}
{{- if and $vm.backup $vm.backup.enabled -}}
{{- $s := include "stackbackup.vm.settings" (dict "ctx" $ "name" $name) | fromJson -}}
{{- $cron := printf "%s-%s-backup" $full $name | trunc 52 | trimSuffix "-" -}}
{{- $prune := dict "bucket" $s.bucket "instance" $name "keepDaily" (toString $s.keepDaily) "keepWeekly" (toString $s.keepWeekly) -}}
{{- $targets = append $targets (dict "store" "victoria-metrics" "target" $name "list" (dict "bucket" $s.bucket "instance" $name) "schedule" $s.schedule "cronJob" $cron "prune" $prune) -}}
{{- end -}}
{{- end -}}
{{- $es := $b.elasticsearch -}}
{{- if $es.enabled -}}
{{- $t := dict "store" "elasticsearch" "target" "sts-backup" "list" (dict "url" $es.url "repository" "sts-backup" "bucket" $es.bucketName) "paused" (not $es.scheduled.enabled) -}}
{{- if $es.scheduled.enabled -}}
{{- if eq $es.scheduled.engine "cronjob" -}}
{{- $_ := set $t "schedule" (include "stackbackup.elasticsearch.cronJobSchedule" $) -}}
{{- $_ := set $t "cronJob" (printf "%s-elasticsearch-backup" $full) -}}
{{- else -}}
{{- $_ := set $t "schedule" $es.scheduled.schedule -}}
{{- $_ := set $t "scheduleFlavour" "elasticsearch" -}}
{{- end -}}
{{- end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- $v := $b.volumes -}}
{{- if $v.enabled -}}
{{- $s := include "stackbackup.volumes.settings" $ | fromJson -}}
{{- range $claim := $v.claims -}}
{{- $t := dict "store" "volumes" "target" $claim "list" (dict "bucket" $s.bucket "prefix" $s.prefix "host" $s.host "claim" $claim) "claimJobs" true "paused" (or $v.scheduled.paused (not $v.scheduled.enabled)) -}}
{{- if $v.scheduled.enabled -}}
{{- $_ := set $t "schedule" $v.scheduled.schedule -}}
{{- $_ := set $t "cronJob" (printf "%s-volume-dispatch" $full | trunc 52 | trimSuffix "-") -}}
{{- end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- if $v.claimSelector -}}
{{- $t := dict "store" "volumes" "claimSelector" $v.claimSelector "list" (dict "bucket" $s.bucket "prefix" $s.prefix "host" $s.host) "claimJobs" true "paused" (or $v.scheduled.paused (not $v.scheduled.enabled)) -}}
{{- if $v.scheduled.enabled -}}
{{- $_ := set $t "schedule" $v.scheduled.schedule -}}
{{- $_ := set $t "cronJob" (printf "%s-volume-dispatch" $full | trunc 52 | trimSuffix "-") -}}
{{- end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "targets" $targets) -}}
{{- end -}}

{{/* "true" when status renders: backups on, an endpoint, status.enabled and at least one target. */}}
{{- define "stackbackup.health.enabled" -}}
{{- if and .Values.status.enabled (include "stackbackup.mode" .) -}}
{{- if (include "stackbackup.health.targets" . | fromJson).targets -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "stackbackup.health.configMap" -}}
{{- printf "%s-status-targets" (include "stackbackup.fullname" .) -}}
{{- end -}}

{{/*
The status pod: the job pod running `stackbackup ARGS` with the targets mounted and the API token.
Usage: include "stackbackup.health.podTemplate" (dict "ctx" $ "component" "status" "args" (list ...) "ports" (list ...))
*/}}
{{- define "stackbackup.health.podTemplate" -}}
{{- $b := .ctx.Values.backup -}}
{{- $env := list -}}
{{- $mounts := list (dict "name" "status-targets" "mountPath" "/etc/stackbackup/status" "readOnly" true) -}}
{{- $volumes := list (dict "name" "status-targets" "configMap" (dict "name" (include "stackbackup.health.configMap" .ctx))) -}}
{{- if and $b.elasticsearch.enabled $b.elasticsearch.auth.existingSecret -}}
{{- $dir := include "stackbackup.elasticsearch.credentialsDir" .ctx -}}
{{- $env = concat $env (list (dict "name" "STACKBACKUP_ES_USERNAME_FILE" "value" (printf "%s/username" $dir)) (dict "name" "STACKBACKUP_ES_PASSWORD_FILE" "value" (printf "%s/password" $dir))) -}}
{{- $mounts = append $mounts (dict "name" "elasticsearch-credentials" "mountPath" $dir "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "elasticsearch-credentials" "secret" (dict "secretName" $b.elasticsearch.auth.existingSecret "defaultMode" 288 "items" (list (dict "key" "username" "path" "username") (dict "key" "password" "path" "password")))) -}}
{{- end -}}
{{- if $b.volumes.enabled -}}
{{- $s := include "stackbackup.volumes.settings" .ctx | fromJson -}}
{{- $env = concat $env (list (dict "name" "STACKBACKUP_RESTIC_PASSWORD_FILE" "value" "/var/run/secrets/stackbackup/restic/password") (dict "name" "RESTIC_CACHE_DIR" "value" "/tmp/restic-cache")) -}}
{{- $mounts = append $mounts (dict "name" "restic-password" "mountPath" "/var/run/secrets/stackbackup/restic" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "restic-password" "secret" (dict "secretName" $s.passwordSecret "defaultMode" 288 "items" (list (dict "key" $s.passwordKey "path" "password")))) -}}
{{- end -}}
{{- $container := dict "name" .component "args" .args "env" $env "volumeMounts" $mounts -}}
{{- $pod := include "stackbackup.job.podTemplate" (dict "ctx" .ctx "component" .component "kind" "status" "token" true "containers" (list $container) "volumes" $volumes) | fromYaml -}}
{{- if .ports -}}
{{- $c := first $pod.spec.containers -}}
{{- $_ := set $c "ports" .ports -}}
{{- $_ := set $pod.spec "restartPolicy" "Always" -}}
{{- end -}}
{{- toYaml $pod -}}
{{- end -}}

{{/*
Volume backup helpers (restic). The chart renders, when backup.volumes.enabled:
  secret.yaml          the repository password Secret (unless repository.passwordSecret.name is given)
  rbac.yaml            the dispatcher's ServiceAccount and Role (read claims and pods, create Jobs)
  cronjob.yaml         the dispatcher CronJob (one backup Job per claim, staggered in the window) and
                       the maintenance CronJob (stale locks, retention per claim, prune, check)
  job-templates.yaml   the backup Job template the dispatcher fills in per claim, and the list and
                       restore templates of ./restore/list-volume-backups.sh and restore-volume-backup.sh
*/}}

{{/* Settings with defaults filled in, as JSON. */}}
{{- define "stackbackup.volumes.settings" -}}
{{- $v := .Values.backup.volumes -}}
{{- $full := include "stackbackup.fullname" . -}}
{{- $r := $v.repository | default (dict) -}}
{{- $ps := $r.passwordSecret | default (dict) -}}
{{- $sec := $v.podSecurity | default (dict) -}}
{{- dict
  "bucket" $v.bucketName
  "prefix" (default (printf "volumes/%s" .Release.Namespace) $r.prefix)
  "host" .Release.Namespace
  "passwordSecret" (default (printf "%s-volumes-restic" $full) $ps.name)
  "passwordKey" (default "password" $ps.key)
  "backupTemplate" (printf "%s-volume-backup-job" $full | trunc 63 | trimSuffix "-")
  "jobPrefix" (printf "%s-vol" $full | trunc 41 | trimSuffix "-")
  "runAsUser" (int (ternary $sec.runAsUser 1000 (hasKey $sec "runAsUser")))
  "runAsGroup" (int (ternary $sec.runAsGroup 100 (hasKey $sec "runAsGroup")))
  | toJson -}}
{{- end -}}

{{/* The repository flags every volumes command takes. */}}
{{- define "stackbackup.volumes.repoArgs" -}}
{{- $s := include "stackbackup.volumes.settings" . | fromJson -}}
{{- list "--bucket" $s.bucket "--prefix" $s.prefix "--host" $s.host | toJson -}}
{{- end -}}

{{/*
The retention flags, from backup.volumes.retention, then one --claim-retention CLAIM:RULE=N,... per
entry of backup.volumes.claimRetention (the backup Job template is shared by every claim: each backup
applies only its own claim's entry; the maintenance prune applies each to its claim).
*/}}
{{- define "stackbackup.volumes.keepArgs" -}}
{{- $r := .Values.backup.volumes.retention -}}
{{- $args := list "--keep-last" (toString $r.keepLast) "--keep-hourly" (toString $r.keepHourly) "--keep-daily" (toString $r.keepDaily) "--keep-weekly" (toString $r.keepWeekly) "--keep-monthly" (toString $r.keepMonthly) "--keep-yearly" (toString $r.keepYearly) -}}
{{- $overrides := .Values.backup.volumes.claimRetention | default (dict) -}}
{{- range $claim := keys $overrides | sortAlpha -}}
{{- $rules := index $overrides $claim -}}
{{- $parts := list -}}
{{- range $rule := keys $rules | sortAlpha -}}
{{- $parts = append $parts (printf "%s=%d" $rule (int (index $rules $rule))) -}}
{{- end -}}
{{- $args = concat $args (list "--claim-retention" (printf "%s:%s" $claim (join "," $parts))) -}}
{{- end -}}
{{- $args | toJson -}}
{{- end -}}

{{/*
A pod template of a volumes job: one stackbackup container (restricted security context) with the
storage environment, the restic password file and a restic cache folder. Backup and restore pods run as
backup.volumes.podSecurity.runAsUser/runAsGroup (the owner of the claims' files: restic restores file
ownership only as root, which "restricted" forbids); the others as podSecurity.runAsUser.
Usage: include "stackbackup.volumes.podSpec" (dict "ctx" $ "kind" "backup" "component" "x" "args" (list) "asOwner" true "token" false "env" (list) "volumes" (list) "mounts" (list))
*/}}
{{- define "stackbackup.volumes.podSpec" -}}
{{- $s := include "stackbackup.volumes.settings" .ctx | fromJson -}}
{{- $runAs := "" -}}
{{- if .asOwner }}{{ $runAs = dict "uid" $s.runAsUser "gid" $s.runAsGroup }}{{ else }}{{ $runAs = dict "uid" .ctx.Values.podSecurity.runAsUser "gid" .ctx.Values.podSecurity.runAsGroup }}{{ end -}}
{{- $env := concat (list (dict "name" "STACKBACKUP_RESTIC_PASSWORD_FILE" "value" "/var/run/secrets/stackbackup/restic/password") (dict "name" "RESTIC_CACHE_DIR" "value" "/cache")) (.env | default list) -}}
{{- $mounts := concat (list (dict "name" "restic-password" "mountPath" "/var/run/secrets/stackbackup/restic" "readOnly" true) (dict "name" "restic-cache" "mountPath" "/cache")) (.mounts | default list) -}}
{{- $password := dict "name" "restic-password" "secret" (dict "secretName" $s.passwordSecret "defaultMode" 288 "items" (list (dict "key" $s.passwordKey "path" "password"))) -}}
{{- $volumes := concat (list $password (dict "name" "restic-cache" "emptyDir" (dict "sizeLimit" "2Gi"))) (.volumes | default list) -}}
{{- $container := dict "name" .component "args" .args "env" $env "volumeMounts" $mounts -}}
{{- include "stackbackup.job.podTemplate" (dict "ctx" .ctx "component" .component "kind" .kind "labels" (dict "stackbackup.io/store" "volumes") "token" .token "runAs" $runAs "containers" (list $container) "volumes" $volumes) -}}
{{- end -}}


{{/*
Elasticsearch pods. Every Elasticsearch job runs `stackbackup elasticsearch <verb>` in the job image
and only talks HTTP to Elasticsearch (backup.elasticsearch.url): snapshots go from Elasticsearch to the
bucket directly, through its snapshot repository `sts-backup`. So the jobs get no S3 credentials,
except the configure Job when backup.elasticsearch.repository.inlineCredentials sends them inline.
  configure   Helm hook after install and upgrade: repository, _verify, SLM policy (or its removal)
  backup      engine cronjob: the CronJob's snapshot plus retention
  list        template elasticsearch-list     (./restore/list-elasticsearch-snapshots.sh)
  restore     template elasticsearch-restore  (./restore/restore-elasticsearch-snapshot.sh)
*/}}

{{- define "stackbackup.elasticsearch.credentialsDir" -}}/var/run/secrets/stackbackup/elasticsearch{{- end -}}

{{/* Where Elasticsearch reaches the S3 endpoint: the value, else the chart's Service by its cluster DNS name. */}}
{{- define "stackbackup.elasticsearch.s3Endpoint" -}}
{{- $r := .Values.backup.elasticsearch.repository -}}
{{- if $r.endpoint -}}
{{- $r.endpoint -}}
{{- else -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "stackbackup.s3.serviceName" .) .Release.Namespace (int .Values.minio.service.port) -}}
{{- end -}}
{{- end -}}

{{/* The snapshot indices as one argument: a JSON array when given as a list, else the text as it is. */}}
{{- define "stackbackup.elasticsearch.indices" -}}
{{- $i := .Values.backup.elasticsearch.scheduled.indices -}}
{{- if kindIs "slice" $i -}}{{- toJson $i -}}{{- else -}}{{- toString $i -}}{{- end -}}
{{- end -}}

{{/*
The Kubernetes schedule of the engine-cronjob CronJob: scheduled.cronJobSchedule, else derived from the
Elasticsearch schedule when that is a plain one (seconds 0, no year or `*`, no L, W or #, week days as
`*`, `?` or names); empty when it cannot be derived (templates/validate.yaml then asks for the value).
*/}}
{{- define "stackbackup.elasticsearch.cronJobSchedule" -}}
{{- $s := .Values.backup.elasticsearch.scheduled -}}
{{- if $s.cronJobSchedule -}}
{{- trim (toString $s.cronJobSchedule) -}}
{{- else -}}
{{- $f := regexSplit "\\s+" (trim (toString $s.schedule)) -1 -}}
{{- $plain := and (or (eq (len $f) 6) (and (eq (len $f) 7) (eq (last $f) "*"))) (eq (index $f 0) "0") -}}
{{- if $plain -}}
{{- $minute := index $f 1 -}}{{- $hour := index $f 2 -}}{{- $dom := index $f 3 -}}{{- $month := index $f 4 -}}{{- $dow := index $f 5 -}}
{{- $special := "[LW#?]" -}}
{{- if and (not (regexMatch $special $minute)) (not (regexMatch $special $hour)) (not (regexMatch $special $month)) (or (eq $dom "?") (not (regexMatch $special $dom))) (or (eq $dow "?") (eq $dow "*") (regexMatch "^(?i:[A-Z]{3})([-,](?i:[A-Z]{3}))*$" $dow)) -}}
{{- printf "%s %s %s %s %s" $minute $hour (ternary "*" $dom (eq $dom "?")) $month (ternary "*" $dow (eq $dow "?")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `--url` and the other connection arguments every verb takes. */}}
{{- define "stackbackup.elasticsearch.connectionArgs" -}}
{{- toJson (list "--url" .Values.backup.elasticsearch.url) -}}
{{- end -}}

{{/*
A job-image container running `stackbackup elasticsearch ...`, with the Elasticsearch credentials when
backup.elasticsearch.auth.existingSecret is set. Usage:
include "stackbackup.elasticsearch.container" (dict "ctx" $ "name" "list" "args" (list ...) "env" (list ...) "storage" false)
*/}}
{{- define "stackbackup.elasticsearch.container" -}}
{{- $es := .ctx.Values.backup.elasticsearch -}}
{{- $env := list -}}
{{- $mounts := list -}}
{{- if $es.auth.existingSecret -}}
{{- $dir := include "stackbackup.elasticsearch.credentialsDir" .ctx -}}
{{- $env = list (dict "name" "STACKBACKUP_ES_USERNAME_FILE" "value" (printf "%s/username" $dir)) (dict "name" "STACKBACKUP_ES_PASSWORD_FILE" "value" (printf "%s/password" $dir)) -}}
{{- $mounts = list (dict "name" "elasticsearch-credentials" "mountPath" $dir "readOnly" true) -}}
{{- end -}}
{{- include "stackbackup.job.container" (dict "ctx" .ctx "name" .name "args" .args "storage" .storage "env" (concat $env (.env | default list)) "volumeMounts" $mounts) -}}
{{- end -}}

{{/*
An Elasticsearch pod template. Usage:
include "stackbackup.elasticsearch.podTemplate" (dict "ctx" $ "component" "elasticsearch-list" "kind" "restore" "containers" "<yaml>" "storage" false)
*/}}
{{- define "stackbackup.elasticsearch.podTemplate" -}}
{{- $es := .ctx.Values.backup.elasticsearch -}}
{{- $volumes := list -}}
{{- if $es.auth.existingSecret -}}
{{- $volumes = list (dict "name" "elasticsearch-credentials" "secret" (dict "secretName" $es.auth.existingSecret "defaultMode" 288 "items" (list (dict "key" "username" "path" "username") (dict "key" "password" "path" "password")))) -}}
{{- end -}}
{{- include "stackbackup.job.podTemplate" (dict "ctx" .ctx "component" .component "kind" .kind "containers" .containers "storage" .storage "volumes" $volumes) -}}
{{- end -}}

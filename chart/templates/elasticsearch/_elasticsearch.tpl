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
A job-image container running `stackbackup elasticsearch ...`. Usage:
include "stackbackup.elasticsearch.container" (dict "ctx" $ "name" "list" "args" (list ...) "env" (list ...) "storage" false)
*/}}
{{- define "stackbackup.elasticsearch.container" -}}
{{- $es := .ctx.Values.backup.elasticsearch -}}
- name: {{ .name }}
  image: {{ include "stackbackup.job.image" .ctx | quote }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  command:
    - stackbackup
  args:
    {{- toYaml .args | nindent 4 }}
  {{- if or .storage $es.auth.existingSecret .env }}
  env:
    {{- if .storage }}
    {{- include "stackbackup.job.storageEnv" .ctx | nindent 4 }}
    {{- end }}
    {{- if $es.auth.existingSecret }}
    - name: STACKBACKUP_ES_USERNAME_FILE
      value: {{ include "stackbackup.elasticsearch.credentialsDir" .ctx }}/username
    - name: STACKBACKUP_ES_PASSWORD_FILE
      value: {{ include "stackbackup.elasticsearch.credentialsDir" .ctx }}/password
    {{- end }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  volumeMounts:
    {{- if .storage }}
    {{- include "stackbackup.job.storageVolumeMounts" .ctx | nindent 4 }}
    {{- else }}
    - name: tmp
      mountPath: /tmp
    {{- end }}
    {{- if $es.auth.existingSecret }}
    - name: elasticsearch-credentials
      mountPath: {{ include "stackbackup.elasticsearch.credentialsDir" .ctx }}
      readOnly: true
    {{- end }}
  {{- with .ctx.Values.jobs.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "stackbackup.container.securityContext" .ctx | nindent 4 }}
{{- end -}}

{{/*
An Elasticsearch pod template. Usage:
include "stackbackup.elasticsearch.podTemplate" (dict "ctx" $ "component" "elasticsearch-list" "kind" "restore" "containers" "<yaml>" "storage" false)
*/}}
{{- define "stackbackup.elasticsearch.podTemplate" -}}
{{- $es := .ctx.Values.backup.elasticsearch -}}
metadata:
  labels:
    {{- include "stackbackup.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
    {{- with .ctx.Values.jobs.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ctx.Values.jobs.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "stackbackup.serviceAccountName" (dict "ctx" .ctx "kind" .kind) }}
  automountServiceAccountToken: false
  restartPolicy: Never
  securityContext:
    {{- include "stackbackup.pod.securityContext" .ctx | nindent 4 }}
  {{- with (include "stackbackup.pod.placement" (dict "ctx" .ctx "from" .ctx.Values.jobs) | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  containers:
    {{- .containers | nindent 4 }}
  volumes:
    {{- if .storage }}
    {{- include "stackbackup.job.storageVolumes" .ctx | nindent 4 }}
    {{- else }}
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 64Mi
    {{- end }}
    {{- if $es.auth.existingSecret }}
    - name: elasticsearch-credentials
      secret:
        secretName: {{ $es.auth.existingSecret }}
        defaultMode: 288 # 0440: owner and group read
        items:
          - key: username
            path: username
          - key: password
            path: password
    {{- end }}
{{- end -}}


{{/*
Helpers shared by every template, all named stackbackup.*. Store templates (CronJobs, restore Job
templates) build their pods from the stackbackup.job.* and stackbackup.pod.* helpers below, so every job
gets the same image, storage environment, credentials files, placement and restricted security context.
*/}}

{{/* ---------------------------------------------------------------- names and labels */}}

{{- define "stackbackup.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name: the release name, plus the chart name unless it is in there. */}}
{{- define "stackbackup.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "stackbackup.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels. Usage: include "stackbackup.selectorLabels" (dict "ctx" $ "component" "minio") */}}
{{- define "stackbackup.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stackbackup.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every label of a resource: selector labels, chart labels and commonLabels. Same dict as above. */}}
{{- define "stackbackup.labels" -}}
{{ include "stackbackup.selectorLabels" . }}
app.kubernetes.io/part-of: stackbackup
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "stackbackup.chart" .ctx }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
A resource's metadata block: name, namespace, labels, commonAnnotations plus extra annotations.
Usage: include "stackbackup.metadata" (dict "ctx" $ "component" "minio" "name" "x" "annotations" (dict))
*/}}
{{- define "stackbackup.metadata" -}}
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "stackbackup.labels" . | nindent 4 }}
  {{- $annotations := merge (dict) (.annotations | default (dict)) .ctx.Values.commonAnnotations }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- what is enabled */}}

{{/* Names of the declared Victoria Metrics instances (top-level victoria-metrics-N keys), sorted, as JSON. */}}
{{- define "stackbackup.vm.instances" -}}
{{- $names := list -}}
{{- range $key, $_ := .Values -}}
{{- if regexMatch "^victoria-metrics-[0-9]+$" $key -}}
{{- $names = append $names $key -}}
{{- end -}}
{{- end -}}
{{- sortAlpha $names | toJson -}}
{{- end -}}

{{/*
The stores whose jobs render, as JSON: [{store, value, bucket, scheduled, restore}], where value is the
Helm value prefix. Empty unless backup.enabled.
*/}}
{{- define "stackbackup.stores" -}}
{{- $stores := list -}}
{{- $b := .Values.backup -}}
{{- if $b.enabled -}}
{{- range $key := list "stackGraph" "elasticsearch" "volumes" -}}
{{- $s := index $b $key -}}
{{- if and $s.enabled (or $s.scheduled.enabled $s.restore.enabled) -}}
{{- $stores = append $stores (dict "store" $key "value" (printf "backup.%s" $key) "bucket" $s.bucketName "scheduled" $s.scheduled.enabled "restore" $s.restore.enabled) -}}
{{- end -}}
{{- end -}}
{{- range $name := include "stackbackup.vm.instances" $ | fromJsonArray -}}
{{- $vm := index $.Values $name -}}
{{- $scheduled := and $vm.backup $vm.backup.enabled -}}
{{- $restore := and $vm.restore $vm.restore.enabled -}}
{{- if or $scheduled $restore -}}
{{- $stores = append $stores (dict "store" $name "value" $name "bucket" $vm.backup.bucketName "scheduled" $scheduled "restore" $restore) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $stores -}}
{{- end -}}

{{/* Buckets of stores with scheduled backups, unique and sorted, as JSON: the bucket-init Job creates them. */}}
{{- define "stackbackup.buckets.scheduled" -}}
{{- $buckets := list -}}
{{- range $s := include "stackbackup.stores" . | fromJsonArray -}}
{{- if $s.scheduled -}}
{{- $buckets = append $buckets $s.bucket -}}
{{- end -}}
{{- end -}}
{{- $buckets | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* "true" when any enabled store has restores on. */}}
{{- define "stackbackup.anyRestore" -}}
{{- range $s := include "stackbackup.stores" . | fromJsonArray -}}
{{- if $s.restore -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The endpoint mode: "minio" (MinIO server; on a PVC, or on an emptyDir when explicitly allowed),
"s3gateway" or "azuregateway"; empty when backups are off. templates/validate.yaml makes sure exactly
one mode is chosen before anything renders.
*/}}
{{- define "stackbackup.mode" -}}
{{- $m := .Values.minio -}}
{{- if .Values.backup.enabled -}}
{{- if $m.s3gateway.enabled -}}s3gateway
{{- else if $m.azuregateway.enabled -}}azuregateway
{{- else if or $m.persistence.enabled $m.persistence.allowEmptyDir -}}minio
{{- end -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- the S3 endpoint and its credentials */}}

{{/* The Service of the in-cluster S3 endpoint: the same name in every mode. */}}
{{- define "stackbackup.s3.serviceName" -}}
{{- printf "%s-minio" (include "stackbackup.fullname" .) -}}
{{- end -}}

{{- define "stackbackup.s3.endpoint" -}}
{{- printf "http://%s:%d" (include "stackbackup.s3.serviceName" .) (int .Values.minio.service.port) -}}
{{- end -}}

{{/* Secret with keys accessKey and secretKey: minio.accessKey/secretKey. */}}
{{- define "stackbackup.s3.secretName" -}}
{{- default (printf "%s-minio" (include "stackbackup.fullname" .)) .Values.minio.existingSecret -}}
{{- end -}}

{{/* Secret with keys accessKey and secretKey: the cloud credentials of the s3gateway mode. */}}
{{- define "stackbackup.s3gateway.secretName" -}}
{{- default (printf "%s-s3gateway" (include "stackbackup.fullname" .)) .Values.minio.s3gateway.existingSecret -}}
{{- end -}}

{{/* Where Secrets are mounted in every pod. */}}
{{- define "stackbackup.s3.credentialsDir" -}}/var/run/secrets/stackbackup/s3{{- end -}}
{{- define "stackbackup.cloud.credentialsDir" -}}/var/run/secrets/stackbackup/cloud{{- end -}}

{{/* ---------------------------------------------------------------- pods */}}

{{/* Pod securityContext of every pod: the "restricted" Pod Security Standard. */}}
{{- define "stackbackup.pod.securityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container securityContext of every container: the "restricted" Pod Security Standard. */}}
{{- define "stackbackup.container.securityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Placement and pull secrets of a pod. Usage: include "stackbackup.pod.placement" (dict "ctx" $ "from" .Values.jobs)
*/}}
{{- define "stackbackup.pod.placement" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
  {{- end }}
{{- end }}
{{- with .from.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .from.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .from.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Name of a job kind's ServiceAccount: init, backup, restore, server. */}}
{{- define "stackbackup.serviceAccountName" -}}
{{- printf "%s-%s" (include "stackbackup.fullname" .ctx) .kind -}}
{{- end -}}

{{/* ---------------------------------------------------------------- job containers */}}

{{- define "stackbackup.job.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The storage environment contract of every job container (read by src/config/storage.ts): the endpoint,
and the credentials as paths of mounted Secret files, never as values.
*/}}
{{- define "stackbackup.job.storageEnv" -}}
- name: STACKBACKUP_S3_ENDPOINT
  value: {{ include "stackbackup.s3.endpoint" . | quote }}
- name: STACKBACKUP_S3_ACCESS_KEY_FILE
  value: {{ include "stackbackup.s3.credentialsDir" . }}/accessKey
- name: STACKBACKUP_S3_SECRET_KEY_FILE
  value: {{ include "stackbackup.s3.credentialsDir" . }}/secretKey
{{- with .Values.minio.region }}
- name: STACKBACKUP_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "stackbackup.job.storageVolumeMounts" -}}
- name: s3-credentials
  mountPath: {{ include "stackbackup.s3.credentialsDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Volumes backing stackbackup.job.storageVolumeMounts (also used by the gateway pod). */}}
{{- define "stackbackup.job.storageVolumes" -}}
- name: s3-credentials
  secret:
    secretName: {{ include "stackbackup.s3.secretName" . }}
    defaultMode: 288 # 0440: owner and group read
    items:
      - key: accessKey
        path: accessKey
      - key: secretKey
        path: secretKey
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end -}}

{{/*
The identity a job runs as: podSecurity, or "runAs" (dict "uid" N "gid" N) of a job that must own the
files it writes (the volume restores). Returns JSON: uid, gid, fsGroup, fsGroupChangePolicy.
*/}}
{{- define "stackbackup.job.identity" -}}
{{- $p := .ctx.Values.podSecurity -}}
{{- if .runAs -}}
{{- toJson (dict "uid" .runAs.uid "gid" .runAs.gid "fsGroup" .runAs.gid "fsGroupChangePolicy" "OnRootMismatch") -}}
{{- else -}}
{{- toJson (dict "uid" $p.runAsUser "gid" $p.runAsGroup "fsGroup" $p.fsGroup "fsGroupChangePolicy" "") -}}
{{- end -}}
{{- end -}}

{{/*
A job-image container running `stackbackup ARGS`: the one container shape of every job.
Usage: include "stackbackup.job.container" (dict "ctx" $ "name" "bucket-init" "args" (list "storage" "init"))
Optional: "env" and "volumeMounts" (lists, after the storage ones); "storage" false: no S3 endpoint or
credentials, only /tmp; "runAs" (dict "uid" N "gid" N) instead of podSecurity.
*/}}
{{- define "stackbackup.job.container" -}}
{{- $storage := ne (toString .storage) "false" -}}
{{- $id := include "stackbackup.job.identity" . | fromJson -}}
- name: {{ .name }}
  image: {{ include "stackbackup.job.image" .ctx | quote }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  command:
    - stackbackup
  args:
    {{- toYaml .args | nindent 4 }}
  {{- $json := eq (toString .ctx.Values.logFormat) "json" }}
  {{- $hook := .ctx.Values.notifications.webhook }}
  {{- if or $storage .env $json $hook.existingSecret }}
  env:
    {{- if $storage }}
    {{- include "stackbackup.job.storageEnv" .ctx | nindent 4 }}
    {{- end }}
    {{- if $json }}
    - name: STACKBACKUP_LOG_FORMAT
      value: json
    {{- end }}
    {{- if $hook.existingSecret }}
    - name: STACKBACKUP_WEBHOOK_URL_FILE
      value: /var/run/secrets/stackbackup/webhook/url
    - name: STACKBACKUP_WEBHOOK_HEADERS_FILE
      value: /var/run/secrets/stackbackup/webhook/headers
    - name: STACKBACKUP_WEBHOOK_FORMAT
      value: {{ $hook.format | quote }}
    {{- end }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  volumeMounts:
    {{- if $storage }}
    {{- include "stackbackup.job.storageVolumeMounts" .ctx | nindent 4 }}
    {{- else }}
    - name: tmp
      mountPath: /tmp
    {{- end }}
    {{- if $hook.existingSecret }}
    - name: webhook
      mountPath: /var/run/secrets/stackbackup/webhook
      readOnly: true
    {{- end }}
    {{- with .volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ctx.Values.jobs.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ $id.uid }}
    runAsGroup: {{ $id.gid }}
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop:
        - ALL
    seccompProfile:
      type: RuntimeDefault
{{- end -}}

{{/*
A job's pod template (metadata and spec): the one pod shape of every job of every store.
Usage: include "stackbackup.job.podTemplate" (dict "ctx" $ "component" "bucket-init" "kind" "init" "containers" (list (dict "name" .. "args" ..)))
"containers": dicts for stackbackup.job.container (given "ctx", "storage" and "runAs" of the pod), or rendered YAML.
Optional: "labels" (dict), "initContainers" (YAML), "volumes" (list, after the storage ones), "storage"
false, "token" true (mount the ServiceAccount token), "runAs" (dict "uid" N "gid" N), "placement" (YAML
instead of jobs.nodeSelector/tolerations/affinity).
*/}}
{{- define "stackbackup.job.podTemplate" -}}
{{- $storage := ne (toString .storage) "false" -}}
{{- $id := include "stackbackup.job.identity" . | fromJson -}}
metadata:
  labels:
    {{- include "stackbackup.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
    {{- with .labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with .ctx.Values.jobs.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ctx.Values.jobs.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "stackbackup.serviceAccountName" (dict "ctx" .ctx "kind" .kind) }}
  automountServiceAccountToken: {{ .token | default false }}
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ $id.uid }}
    runAsGroup: {{ $id.gid }}
    fsGroup: {{ $id.fsGroup }}
    {{- with $id.fsGroupChangePolicy }}
    fsGroupChangePolicy: {{ . }}
    {{- end }}
    seccompProfile:
      type: RuntimeDefault
  {{- with (.placement | default (include "stackbackup.pod.placement" (dict "ctx" .ctx "from" .ctx.Values.jobs)) | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .initContainers }}
  initContainers:
    {{- . | nindent 4 }}
  {{- end }}
  containers:
    {{- if kindIs "string" .containers }}
    {{- .containers | nindent 4 }}
    {{- else }}
    {{- range $c := .containers }}
    {{- include "stackbackup.job.container" (merge (dict "ctx" $.ctx "storage" $.storage "runAs" $.runAs) $c) | nindent 4 }}
    {{- end }}
    {{- end }}
  volumes:
    {{- if $storage }}
    {{- include "stackbackup.job.storageVolumes" .ctx | nindent 4 }}
    {{- else }}
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 64Mi
    {{- end }}
    {{- with .ctx.Values.notifications.webhook.existingSecret }}
    - name: webhook
      secret:
        secretName: {{ . }}
        defaultMode: 288 # 0440
    {{- end }}
    {{- with .volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
A Job template in a ConfigMap: the one shape every store's list and restore Jobs (and the volume
dispatcher's backup Job) come from. restore/lib/job.sh finds a template by the labels
app.kubernetes.io/part-of=stackbackup and stackbackup.io/job-template=TEMPLATE and reads its data key
job.yaml; the volume dispatcher reads job.json from the ConfigMap it is given by name.
Usage: include "stackbackup.jobTemplate" (dict "ctx" $ "store" "stackgraph" "template" "stackgraph-list" "pod" "<yaml>")
Optional: "data" (dict KEY VALUE) more data keys, "annotations" (dict), "activeDeadlineSeconds" N,
"key" "job.json" with "name" CONFIGMAP (the dispatcher's template).
*/}}
{{- define "stackbackup.jobTemplate" -}}
{{- $name := printf "%s-%s" (include "stackbackup.fullname" .ctx) .template | trunc 63 | trimSuffix "-" -}}
{{- $labels := include "stackbackup.labels" (dict "ctx" .ctx "component" .template) | fromYaml -}}
{{- $spec := dict "backoffLimit" 0 "ttlSecondsAfterFinished" (int .ctx.Values.jobs.ttlSecondsAfterFinished) "template" (.pod | fromYaml) -}}
{{- if .activeDeadlineSeconds }}{{ $_ := set $spec "activeDeadlineSeconds" (int .activeDeadlineSeconds) }}{{ end -}}
{{- $job := dict "apiVersion" "batch/v1" "kind" "Job" "metadata" (dict "name" $name "labels" $labels) "spec" $spec -}}
{{- $key := .key | default "job.yaml" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name | default (printf "%s-job" $name | trunc 63 | trimSuffix "-") }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- toYaml $labels | nindent 4 }}
    {{- if eq $key "job.yaml" }}
    stackbackup.io/job-template: {{ .template }}
    {{- end }}
    stackbackup.io/store: {{ required "internal: stackbackup.jobTemplate needs a store" .store }}
  {{- $annotations := merge (dict) (.annotations | default (dict)) (.ctx.Values.commonAnnotations | default (dict)) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  {{- if eq $key "job.yaml" }}
  job.yaml: |
    {{- toYaml $job | nindent 4 }}
  {{- else }}
  job.json: {{ toJson $job | quote }}
  {{- end }}
  {{- range $k, $v := .data }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end -}}

{{/*
Victoria Metrics helpers. Each declared instance victoria-metrics-N gets, when enabled:
  a CronJob (backup)          `stackbackup victoria-metrics backup` on the instance's claim, on its node
  Job templates (restore)     <N>-restore (vmrestore into the claim) and <N>-check (the instance answers),
                              plus victoria-metrics-list for every instance; used by ./restore/*.sh
*/}}

{{/* An instance's settings with defaults filled in, as JSON. Usage: include "stackbackup.vm.settings" (dict "ctx" $ "name" "victoria-metrics-0") */}}
{{- define "stackbackup.vm.settings" -}}
{{- $name := .name -}}
{{- $vm := index .ctx.Values $name -}}
{{- $b := $vm.backup | default (dict) -}}
{{- $s := $b.scheduled | default (dict) -}}
{{- $labels := dict "statefulset.kubernetes.io/pod-name" (printf "stackstate-%s-0" $name) -}}
{{- if hasKey $b "podLabels" }}{{ $labels = $b.podLabels | default (dict) }}{{ end -}}
{{- dict
  "name" $name
  "bucket" ($b.bucketName | default "sts-victoria-metrics-backup")
  "schedule" ($s.schedule | default "25 * * * *")
  "keepDaily" (int (ternary $s.keepDaily 7 (hasKey $s "keepDaily")))
  "keepWeekly" (int (ternary $s.keepWeekly 4 (hasKey $s "keepWeekly")))
  "maxBytesPerSecond" (int ($s.maxBytesPerSecond | default 0))
  "activeDeadlineSeconds" (int ($s.activeDeadlineSeconds | default 3000))
  "successfulJobsHistoryLimit" (int (ternary $s.successfulJobsHistoryLimit 3 (hasKey $s "successfulJobsHistoryLimit")))
  "failedJobsHistoryLimit" (int (ternary $s.failedJobsHistoryLimit 3 (hasKey $s "failedJobsHistoryLimit")))
  "url" ($b.url | default (printf "http://stackstate-%s:8428" $name))
  "statefulSet" ($b.statefulSetName | default (printf "stackstate-%s" $name))
  "claim" ($b.persistentVolumeClaim | default (printf "server-volume-stackstate-%s-0" $name))
  "dataPath" ($b.storageDataPath | default "/storage")
  "podLabels" $labels
  | toJson -}}
{{- end -}}

{{/*
A pod spec of a Victoria Metrics job: one stackbackup container with the storage environment, the
instance's claim mounted at its -storageDataPath, the restricted security context, and for backups a
required pod affinity to the instance's pod (its ReadWriteOnce claim is attached to that node).
Usage: include "stackbackup.vm.podSpec" (dict "ctx" $ "vm" $settings "kind" "backup"|"restore" "component" "x" "args" (list ...) "claim" true|false "extraEnv" (list))
*/}}
{{- define "stackbackup.vm.podSpec" -}}
metadata:
  labels:
    {{- include "stackbackup.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
    stackbackup.io/store: victoria-metrics
    stackbackup.io/vm-instance: {{ .vm.name }}
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
  {{- $j := .ctx.Values.jobs }}
  {{- with .ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
    {{- end }}
  {{- end }}
  {{- with $j.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $j.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if and (eq .kind "backup") .vm.podLabels }}
  affinity:
    {{- with $j.affinity.nodeAffinity }}
    nodeAffinity:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - labelSelector:
            matchLabels:
              {{- toYaml .vm.podLabels | nindent 14 }}
          topologyKey: kubernetes.io/hostname
  {{- else }}
  {{- with $j.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "stackbackup.job.image" .ctx | quote }}
      imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
      command:
        - stackbackup
      args:
        {{- toYaml .args | nindent 8 }}
      env:
        {{- include "stackbackup.job.storageEnv" .ctx | nindent 8 }}
        {{- with .extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumeMounts:
        {{- include "stackbackup.job.storageVolumeMounts" .ctx | nindent 8 }}
        {{- if .claim }}
        - name: data
          mountPath: {{ .vm.dataPath }}
        {{- end }}
      {{- with $j.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "stackbackup.container.securityContext" .ctx | nindent 8 }}
  volumes:
    {{- include "stackbackup.job.storageVolumes" .ctx | nindent 4 }}
    {{- if .claim }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ .vm.claim }}
    {{- end }}
{{- end -}}


{{/*
StackGraph pods. The export, import and count commands live in the tool image (StackState's server by
default), the transfer to and from the bucket in the job image (`stackbackup stackgraph ...`). They meet
on a scratch volume mounted at /scratch:
  backup   init container "export" (tool) writes /scratch/stackgraph-export.graph, then container
           "backup" (job image) checks it, uploads it with its checksum and applies retention
  restore  Job "fetch": init container "count" (tool, when countCommand is set) writes the number of
           elements; container "fetch" (job image) checks the name, refuses a non-empty StackGraph
           unless -force, downloads and verifies the backup onto the restore claim. Job "import"
           (tool) imports it, so every step's logs stream to the restore script. The restore
           claim exists only during a restore: the script creates it from the fetch template.
*/}}

{{- define "stackbackup.stackgraph.scratchDir" -}}/scratch{{- end -}}
{{- define "stackbackup.stackgraph.exportFile" -}}/scratch/stackgraph-export.graph{{- end -}}
{{- define "stackbackup.stackgraph.restoreFile" -}}/scratch/stackgraph-restore.graph{{- end -}}
{{- define "stackbackup.stackgraph.countFile" -}}/scratch/stackgraph-count{{- end -}}

{{- define "stackbackup.stackgraph.restoreClaim" -}}
{{- printf "%s-stackgraph-restore" (include "stackbackup.fullname" .) -}}
{{- end -}}

{{- define "stackbackup.stackgraph.toolImage" -}}
{{- $i := .Values.backup.stackGraph.tool.image -}}
{{- if $i.tag -}}{{- printf "%s:%s" $i.repository $i.tag -}}{{- else -}}{{- $i.repository -}}{{- end -}}
{{- end -}}

{{/*
A tool container. Usage: include "stackbackup.stackgraph.toolContainer" (dict "ctx" $ "name" "export" "command" (list ...) "env" (list ...))
*/}}
{{- define "stackbackup.stackgraph.toolContainer" -}}
{{- $t := .ctx.Values.backup.stackGraph.tool -}}
- name: {{ .name }}
  image: {{ include "stackbackup.stackgraph.toolImage" .ctx | quote }}
  imagePullPolicy: {{ $t.image.pullPolicy }}
  command:
    {{- toYaml .command | nindent 4 }}
  {{- $env := concat (.env | default list) ($t.env | default list) }}
  {{- with $env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: scratch
      mountPath: {{ include "stackbackup.stackgraph.scratchDir" .ctx }}
    - name: tmp
      mountPath: /tmp
    {{- with $t.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $t.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "stackbackup.container.securityContext" .ctx | nindent 4 }}
{{- end -}}

{{/*
A job-image container running `stackbackup ARGS`. Usage:
include "stackbackup.stackgraph.jobContainer" (dict "ctx" $ "name" "backup" "args" (list ...) "env" (list ...))
*/}}
{{- define "stackbackup.stackgraph.jobContainer" -}}
- name: {{ .name }}
  image: {{ include "stackbackup.job.image" .ctx | quote }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  command:
    - stackbackup
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- include "stackbackup.job.storageEnv" .ctx | nindent 4 }}
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumeMounts:
    {{- include "stackbackup.job.storageVolumeMounts" .ctx | nindent 4 }}
    {{- if .scratch }}
    - name: scratch
      mountPath: {{ include "stackbackup.stackgraph.scratchDir" .ctx }}
    {{- end }}
  {{- with .ctx.Values.jobs.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "stackbackup.container.securityContext" .ctx | nindent 4 }}
{{- end -}}

{{/*
A StackGraph pod template. Usage: include "stackbackup.stackgraph.podTemplate" (dict "ctx" $ "component" "stackgraph-backup"
"kind" "backup" "initContainers" "<yaml>" "containers" "<yaml>" "scratch" "ephemeral"|"restore"|"" "tool" true)
*/}}
{{- define "stackbackup.stackgraph.podTemplate" -}}
{{- $sg := .ctx.Values.backup.stackGraph -}}
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
  {{- with .initContainers }}
  initContainers:
    {{- . | nindent 4 }}
  {{- end }}
  containers:
    {{- .containers | nindent 4 }}
  volumes:
    {{- include "stackbackup.job.storageVolumes" .ctx | nindent 4 }}
    {{- if eq .scratch "ephemeral" }}
    - name: scratch
      ephemeral:
        volumeClaimTemplate:
          metadata:
            labels:
              {{- include "stackbackup.labels" (dict "ctx" .ctx "component" .component) | nindent 14 }}
          spec:
            accessModes: ["ReadWriteOnce"]
            {{- with $sg.scratch.storageClass }}
            storageClassName: {{ . | quote }}
            {{- end }}
            resources:
              requests:
                storage: {{ $sg.scratch.size | quote }}
    {{- else if eq .scratch "restore" }}
    - name: scratch
      persistentVolumeClaim:
        claimName: {{ include "stackbackup.stackgraph.restoreClaim" .ctx }}
    {{- end }}
    {{- if .tool }}
    {{- with $sg.tool.volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- end }}
{{- end -}}


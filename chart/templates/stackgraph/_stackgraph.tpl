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
A job-image container running `stackbackup ARGS`, with the scratch claim mounted when "scratch" is true.
Usage: include "stackbackup.stackgraph.jobContainer" (dict "ctx" $ "name" "backup" "args" (list ...) "env" (list ...) "scratch" true)
*/}}
{{- define "stackbackup.stackgraph.jobContainer" -}}
{{- $mounts := list -}}
{{- if .scratch }}{{ $mounts = list (dict "name" "scratch" "mountPath" (include "stackbackup.stackgraph.scratchDir" .ctx)) }}{{ end -}}
{{- include "stackbackup.job.container" (dict "ctx" .ctx "name" .name "args" .args "env" .env "volumeMounts" $mounts) -}}
{{- end -}}

{{/*
A StackGraph pod template: the job pod with the scratch claim ("ephemeral": a claim of its own for the
backup's export; "restore": the restore claim) and the tool's own volumes when it runs the tool. Usage:
include "stackbackup.stackgraph.podTemplate" (dict "ctx" $ "component" "stackgraph-backup" "kind" "backup"
"initContainers" "<yaml>" "containers" "<yaml>" "scratch" "ephemeral"|"restore"|"" "tool" true)
*/}}
{{- define "stackbackup.stackgraph.podTemplate" -}}
{{- $sg := .ctx.Values.backup.stackGraph -}}
{{- $volumes := list -}}
{{- if eq .scratch "ephemeral" -}}
{{- $claim := dict "accessModes" (list "ReadWriteOnce") "resources" (dict "requests" (dict "storage" (toString $sg.scratch.size))) -}}
{{- with $sg.scratch.storageClass }}{{ $_ := set $claim "storageClassName" . }}{{ end -}}
{{- $labels := include "stackbackup.labels" (dict "ctx" .ctx "component" .component) | fromYaml -}}
{{- $volumes = list (dict "name" "scratch" "ephemeral" (dict "volumeClaimTemplate" (dict "metadata" (dict "labels" $labels) "spec" $claim))) -}}
{{- else if eq .scratch "restore" -}}
{{- $volumes = list (dict "name" "scratch" "persistentVolumeClaim" (dict "claimName" (include "stackbackup.stackgraph.restoreClaim" .ctx))) -}}
{{- end -}}
{{- if .tool }}{{ $volumes = concat $volumes ($sg.tool.volumes | default list) }}{{ end -}}
{{- include "stackbackup.job.podTemplate" (dict "ctx" .ctx "component" .component "kind" .kind "initContainers" .initContainers "containers" .containers "volumes" $volumes) -}}
{{- end -}}


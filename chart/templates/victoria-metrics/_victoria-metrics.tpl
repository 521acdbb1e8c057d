{{/*
Victoria Metrics helpers. Each declared instance victoria-metrics-N gets, when enabled:
  a CronJob (backup)          `stackbackup victoria-metrics backup` on the instance's claim, on its node
  a CronJob and a Job template (drill, backup.drill.enabled)  `stackbackup victoria-metrics drill` into
                              a scratch emptyDir (never the instance's claim); ./restore/drill.sh
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
  "drill" (dict
    "enabled" (and $b.drill $b.drill.enabled | default false)
    "schedule" (($b.drill | default (dict)).schedule | default "45 4 * * 0")
    "memoryMiB" (int (($b.drill | default (dict)).memoryMiB | default 256))
    "scratchSize" (($b.drill | default (dict)).scratchSize | default "20Gi")
    "activeDeadlineSeconds" (int (($b.drill | default (dict)).activeDeadlineSeconds | default 7200)))
  | toJson -}}
{{- end -}}

{{/*
A pod spec of a Victoria Metrics job: one stackbackup container with the storage environment, the
instance's claim mounted at its -storageDataPath, the restricted security context, and for backups a
required pod affinity to the instance's pod (its ReadWriteOnce claim is attached to that node).
Usage: include "stackbackup.vm.podSpec" (dict "ctx" $ "vm" $settings "kind" "backup"|"restore" "component" "x" "args" (list ...) "claim" true|false "extraEnv" (list))
Optional: "volumes" and "mounts" (lists) beside the claim (the drill's scratch emptyDir); "affinity" false:
no pod affinity to the instance (a drill never mounts its claim).
*/}}
{{- define "stackbackup.vm.podSpec" -}}
{{- $j := .ctx.Values.jobs -}}
{{- $placement := "" -}}
{{- if and (eq .kind "backup") .vm.podLabels (ne (toString .affinity) "false") -}}
{{- $affinity := dict "podAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list (dict "labelSelector" (dict "matchLabels" .vm.podLabels) "topologyKey" "kubernetes.io/hostname"))) -}}
{{- with $j.affinity.nodeAffinity }}{{ $_ := set $affinity "nodeAffinity" . }}{{ end -}}
{{- $placement = include "stackbackup.pod.placement" (dict "ctx" .ctx "from" (merge (dict "affinity" $affinity) (omit $j "affinity"))) -}}
{{- end -}}
{{- $env := .extraEnv | default list -}}
{{- $mounts := list -}}
{{- $volumes := list -}}
{{- if .claim -}}
{{- $mounts = list (dict "name" "data" "mountPath" .vm.dataPath) -}}
{{- $volumes = list (dict "name" "data" "persistentVolumeClaim" (dict "claimName" .vm.claim)) -}}
{{- end -}}
{{- $mounts = concat $mounts (.mounts | default list) -}}
{{- $volumes = concat $volumes (.volumes | default list) -}}
{{- $container := dict "name" .component "args" .args "env" $env "volumeMounts" $mounts -}}
{{- include "stackbackup.job.podTemplate" (dict "ctx" .ctx "component" .component "kind" .kind "labels" (dict "stackbackup.io/store" "victoria-metrics" "stackbackup.io/vm-instance" .vm.name) "placement" $placement "containers" (list $container) "volumes" $volumes) -}}
{{- end -}}


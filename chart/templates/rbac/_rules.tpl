{{/*
Rules of the restore Role: read and scale the workloads a restore stops (StatefulSets, Deployments),
annotate them with their replica count and the restore lock, and watch their pods go away and come
back. Nothing cluster-wide, no Secrets, no exec.
*/}}
{{- define "stackbackup.rbac.restoreRules" -}}
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["apps"]
  resources: ["statefulsets/scale", "deployments/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
{{- end -}}

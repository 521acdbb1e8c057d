{{/*
Rules of the restore Role: read and scale the workloads a restore stops (StatefulSets, Deployments),
annotate them with their replica count and the restore lock, and watch their pods go away and come
back. Nothing cluster-wide, no Secrets, no exec.
The other Role of the chart belongs to the volume dispatcher's ServiceAccount `<fullname>-volume-dispatch`
(templates/volumes/rbac.yaml): read claims and pods, read its own Job template ConfigMap, list and create
Jobs, in the release namespace only.
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

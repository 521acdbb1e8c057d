{{/* The text of NOTES.txt, a helper so that tests can render it with `helm template`. */}}
{{- define "stackbackup.notes" -}}
{{- $fullname := include "stackbackup.fullname" . -}}
{{- $mode := include "stackbackup.mode" . -}}
{{- $stores := include "stackbackup.stores" . | fromJsonArray -}}
{{- if not .Values.backup.enabled }}
stackbackup is installed with backups OFF: nothing runs.

Turn them on with backup.enabled=true and one place to keep backups, for example:
  helm upgrade {{ .Release.Name }} <chart> -n {{ .Release.Namespace }} --reuse-values \
    --set backup.enabled=true --set minio.persistence.enabled=true \
    --set minio.accessKey=<5-20 letters or digits> --set minio.secretKey=<8-40 letters or digits>
(or minio.s3gateway.enabled=true for AWS S3, minio.azuregateway.enabled=true for Azure Blob Storage).
{{- else }}
stackbackup: backups are ON in namespace {{ .Release.Namespace }}.

Where backups go ({{ include "stackbackup.s3.endpoint" . }}, Service {{ include "stackbackup.s3.serviceName" . }}):
{{- if eq $mode "s3gateway" }}
  s3proxy gateway in front of {{ .Values.minio.s3gateway.serviceEndpoint }} (provider {{ .Values.minio.s3gateway.provider }}).
  The cloud credentials are only in the gateway pod (Secret {{ include "stackbackup.s3gateway.secretName" . }}).
{{- else if eq $mode "azuregateway" }}
  s3proxy gateway in front of Azure Blob Storage ({{ default "https://<minio.accessKey>.blob.core.windows.net" .Values.minio.azuregateway.serviceEndpoint }}).
  Buckets are Blob containers of the storage account named in minio.accessKey.
{{- else if .Values.minio.persistence.enabled }}
  MinIO on PersistentVolumeClaim {{ default (printf "%s-minio" $fullname) .Values.minio.persistence.existingClaim }} (kept when the release is uninstalled).
{{- else }}
  MinIO on an emptyDir (minio.persistence.allowEmptyDir=true).
  WARNING: every backup is lost when the MinIO pod restarts. Use this for tests only.
{{- end }}
  Jobs authenticate with Secret {{ include "stackbackup.s3.secretName" . }} (keys accessKey, secretKey).

{{- if not $stores }}

No store is enabled: set backup.stackGraph.enabled, backup.elasticsearch.enabled, backup.volumes.enabled
or victoria-metrics-N.backup.enabled.
{{- end }}

What is backed up (bucket, schedule) and how to list and restore, from a checkout of this chart's
repository with kubectl pointed at namespace {{ .Release.Namespace }}:
{{- range $s := $stores }}
{{- $sched := "restore only" }}
{{- if eq $s.store "stackGraph" }}
{{- if $s.scheduled }}{{ $sched = printf "%q" $.Values.backup.stackGraph.scheduled.schedule }}{{ end }}

  StackGraph          bucket {{ $s.bucket }}, schedule {{ $sched }}
{{- if $s.restore }}
    ./restore/list-stackgraph-backups.sh
    ./restore/restore-stackgraph-backup.sh <backup name> [-force]
{{- end }}
{{- else if eq $s.store "elasticsearch" }}
{{- if $s.scheduled }}{{ $sched = printf "%q (Elasticsearch cron)" $.Values.backup.elasticsearch.scheduled.schedule }}{{ end }}

  Elasticsearch       bucket {{ $s.bucket }}, schedule {{ $sched }}
{{- if $s.restore }}
    ./restore/list-elasticsearch-snapshots.sh
    ./restore/restore-elasticsearch-snapshot.sh <snapshot name> ["index1,index2"] [-force]
{{- end }}
{{- with $.Values.backup.elasticsearch.drill }}{{ if .enabled }}
    ./restore/drill.sh elasticsearch      (restore drill now; weekly drill {{ .schedule | quote }})
{{- end }}{{ end }}
{{- else if eq $s.store "volumes" }}
{{- if $s.scheduled }}{{ $sched = printf "%q" $.Values.backup.volumes.scheduled.schedule }}{{ end }}

  Volumes (restic)    bucket {{ $s.bucket }}, schedule {{ $sched }}
{{- if $s.restore }}
    ./restore/list-volume-backups.sh [claim]
    ./restore/restore-volume-backup.sh <claim> <snapshot> [target claim] [-force]
{{- end }}
{{- with $.Values.backup.volumes.drill }}{{ if .enabled }}
    ./restore/drill.sh volumes            (restore drill of the next {{ .sample }} claims now; weekly drill {{ .schedule | quote }})
{{- end }}{{ end }}
{{- else }}
{{- if $s.scheduled }}{{ $sched = printf "%q" (index $.Values $s.store).backup.scheduled.schedule }}{{ end }}

  {{ $s.store }}  bucket {{ $s.bucket }} (prefix {{ $s.store }}/), schedule {{ $sched }}
{{- if $s.restore }}
    ./restore/list-victoria-metrics-backups.sh
    ./restore/restore-victoria-metrics-backup.sh {{ $s.store }} <version>
{{- end }}
{{- with (index $.Values $s.store).backup.drill }}{{ if .enabled }}
    ./restore/drill.sh victoria-metrics {{ $s.store }}   (restore drill now; weekly drill {{ .schedule | quote }})
{{- end }}{{ end }}
{{- end }}
{{- end }}
{{- if include "stackbackup.anyRestore" . }}

After a restore, bring the stopped workloads back with ./restore/scale-up.sh.
{{- end }}
{{- if include "stackbackup.buckets.scheduled" . | fromJsonArray }}

Buckets are created by the {{ $fullname }}-bucket-init Job after each install and upgrade; check it with:
  kubectl -n {{ .Release.Namespace }} logs job/{{ $fullname }}-bucket-init
{{- end }}
{{- end }}
{{- end -}}

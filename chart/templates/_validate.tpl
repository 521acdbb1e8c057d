{{/*
Checks of single values used by templates/validate.yaml. Each returns "" when the value is fine, or
what is wrong with it. They never print a credential, only its length.
*/}}

{{/*
One cron field. dict: field, name, min, max, names (upper-case names allowed, may be empty),
extra (regex of special forms allowed as a whole list item, may be empty).
*/}}
{{- define "stackbackup.validate.cronField" -}}
{{- $f := . -}}
{{- $problems := list -}}
{{- range $part := splitList "," $f.field -}}
{{- if eq $part "" -}}
{{- $problems = append $problems (printf "empty list item in %s" $f.name) -}}
{{- else if and $f.extra (regexMatch $f.extra $part) -}}
{{- else -}}
{{- $steps := splitList "/" $part -}}
{{- $range := index $steps 0 -}}
{{- if gt (len $steps) 2 -}}
{{- $problems = append $problems (printf "%q in %s has two steps" $part $f.name) -}}
{{- else if and (eq (len $steps) 2) (not (regexMatch "^[1-9][0-9]*$" (index $steps 1))) -}}
{{- $problems = append $problems (printf "step %q in %s must be a positive number" (index $steps 1) $f.name) -}}
{{- else if ne $range "*" -}}
{{- $bounds := splitList "-" $range -}}
{{- if gt (len $bounds) 2 -}}
{{- $problems = append $problems (printf "%q in %s is not a range" $range $f.name) -}}
{{- else -}}
{{- range $b := $bounds -}}
{{- if regexMatch "^[0-9]+$" $b -}}
{{- if or (lt (atoi $b) (int $f.min)) (gt (atoi $b) (int $f.max)) -}}
{{- $problems = append $problems (printf "%q is out of range for %s (%d-%d)" $b $f.name (int $f.min) (int $f.max)) -}}
{{- end -}}
{{- else if not (has (upper $b) $f.names) -}}
{{- $problems = append $problems (printf "%q is not a valid %s" $b $f.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "; " $problems -}}
{{- end -}}

{{- define "stackbackup.validate.months" -}}["JAN","FEB","MAR","APR","MAY","JUN","JUL","AUG","SEP","OCT","NOV","DEC"]{{- end -}}
{{- define "stackbackup.validate.days" -}}["SUN","MON","TUE","WED","THU","FRI","SAT"]{{- end -}}

{{/* A Kubernetes CronJob schedule: 5 fields or a macro. Argument: the schedule. */}}
{{- define "stackbackup.validate.kubeCron" -}}
{{- $text := trim (toString .) -}}
{{- $macros := list "@yearly" "@annually" "@monthly" "@weekly" "@daily" "@midnight" "@hourly" -}}
{{- if not (has $text $macros) -}}
{{- $fields := regexSplit "\\s+" $text -1 -}}
{{- if ne (len $fields) 5 -}}
has {{ len $fields }} fields; a Kubernetes cron schedule has 5 (minute hour day-of-month month day-of-week)
{{- else -}}
{{- $months := include "stackbackup.validate.months" . | fromJsonArray -}}
{{- $days := include "stackbackup.validate.days" . | fromJsonArray -}}
{{- $specs := list (dict "name" "minute" "min" 0 "max" 59) (dict "name" "hour" "min" 0 "max" 23) (dict "name" "day of month" "min" 1 "max" 31) (dict "name" "month" "min" 1 "max" 12 "names" $months) (dict "name" "day of week" "min" 0 "max" 7 "names" $days) -}}
{{- $problems := list -}}
{{- range $i, $field := $fields -}}
{{- $spec := index $specs $i -}}
{{- $p := include "stackbackup.validate.cronField" (dict "field" $field "name" $spec.name "min" $spec.min "max" $spec.max "names" ($spec.names | default list) "extra" "") -}}
{{- if $p }}{{ $problems = append $problems $p }}{{ end -}}
{{- end -}}
{{- join "; " $problems -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* An Elasticsearch (Quartz) cron schedule: 6 or 7 fields, one of the day fields "?". Argument: the schedule. */}}
{{- define "stackbackup.validate.esCron" -}}
{{- $text := trim (toString .) -}}
{{- $fields := regexSplit "\\s+" $text -1 -}}
{{- if and (ne (len $fields) 6) (ne (len $fields) 7) -}}
has {{ len $fields }} fields; an Elasticsearch cron schedule has 6 or 7 (seconds minutes hours day-of-month month day-of-week [year])
{{- else if eq (eq (index $fields 3) "?") (eq (index $fields 5) "?") -}}
exactly one of day-of-month and day-of-week must be "?"
{{- else -}}
{{- $months := include "stackbackup.validate.months" . | fromJsonArray -}}
{{- $days := include "stackbackup.validate.days" . | fromJsonArray -}}
{{- $specs := list (dict "name" "seconds" "min" 0 "max" 59) (dict "name" "minutes" "min" 0 "max" 59) (dict "name" "hours" "min" 0 "max" 23) (dict "name" "day of month" "min" 1 "max" 31 "extra" "^(L|L-[0-9]+|[0-9]+W|LW)$") (dict "name" "month" "min" 1 "max" 12 "names" $months) (dict "name" "day of week" "min" 1 "max" 7 "names" $days "extra" "^(?i:[1-7]|[A-Z]{3})(L|#[1-5])$") (dict "name" "year" "min" 1970 "max" 2199) -}}
{{- $problems := list -}}
{{- range $i, $field := $fields -}}
{{- $spec := index $specs $i -}}
{{- if not (and (eq $field "?") (or (eq $i 3) (eq $i 5))) -}}
{{- $p := include "stackbackup.validate.cronField" (dict "field" $field "name" $spec.name "min" $spec.min "max" $spec.max "names" ($spec.names | default list) "extra" ($spec.extra | default "")) -}}
{{- if $p }}{{ $problems = append $problems $p }}{{ end -}}
{{- end -}}
{{- end -}}
{{- join "; " $problems -}}
{{- end -}}
{{- end -}}

{{/* Python timedelta keyword syntax: "days=30", "weeks=2, hours=12". Argument: the text. */}}
{{- define "stackbackup.validate.timedelta" -}}
{{- $text := trim (toString .) -}}
{{- $problems := list -}}
{{- $seen := list -}}
{{- $total := 0.0 -}}
{{- if eq $text "" -}}
{{- $problems = append $problems "is empty" -}}
{{- else -}}
{{- range $piece := splitList "," $text -}}
{{- $piece = trim $piece -}}
{{- if not (regexMatch "^(weeks|days|hours|minutes|seconds|milliseconds|microseconds)\\s*=\\s*[0-9]+(\\.[0-9]+)?$" $piece) -}}
{{- $problems = append $problems (printf "cannot read %q (use keyword=number pairs: weeks, days, hours, minutes, seconds, milliseconds, microseconds)" $piece) -}}
{{- else -}}
{{- $kw := regexFind "^[a-z]+" $piece -}}
{{- if has $kw $seen }}{{ $problems = append $problems (printf "%q is given twice" $kw) }}{{ end -}}
{{- $seen = append $seen $kw -}}
{{- $total = addf $total (float64 (regexFind "[0-9.]+$" $piece)) -}}
{{- end -}}
{{- end -}}
{{- if and (not $problems) (eq $total 0.0) -}}
{{- $problems = append $problems "is zero: a retention of nothing would delete every backup" -}}
{{- end -}}
{{- end -}}
{{- join "; " $problems -}}
{{- end -}}

{{/* A bucket name (S3 rules; stricter Azure container rules in azuregateway mode). dict: name, azure. */}}
{{- define "stackbackup.validate.bucket" -}}
{{- $n := toString .name -}}
{{- if .azure -}}
{{- if or (not (regexMatch "^[a-z0-9]([a-z0-9-]{1,61})[a-z0-9]$" $n)) (contains "--" $n) -}}
is not a valid Azure Blob container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)
{{- end -}}
{{- else if or (not (regexMatch "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" $n)) (contains ".." $n) (hasPrefix "xn--" $n) (regexMatch "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$" $n) -}}
is not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)
{{- end -}}
{{- end -}}

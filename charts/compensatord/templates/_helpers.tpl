{{/* The chart's name, at most 63 characters (a DNS label). */}}
{{- define "compensatord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the prefix of every object. */}}
{{- define "compensatord.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "compensatord.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "compensatord.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "compensatord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "compensatord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "compensatord.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "compensatord.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: compensatord
{{- end -}}

{{- define "compensatord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "compensatord.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "compensatord.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* True when more than one pod can run at once: PDB and spreading only make sense then. */}}
{{- define "compensatord.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{/*
The daemon's config file. The chart owns the keys that must agree with the pod spec (ports, the
shutdown grace that sizes terminationGracePeriodSeconds, the replica name); the schema forbids
setting them in .Values.config.
A literal password in a DSN (scheme://user:password@host, or password=... of a key=value DSN)
fails the render: it would land in a ConfigMap, readable by anyone who can read ConfigMaps.
*/}}
{{- define "compensatord.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $reconciler := default dict $config.reconciler -}}
{{- $_ := set $reconciler "shutdown_grace" (printf "%ds" (int .Values.shutdownGraceSeconds)) -}}
{{- $_ = set $config "reconciler" $reconciler -}}
{{- $_ = set $config "replica_id" "${POD_NAME}" -}}
{{- $http := default dict $config.http -}}
{{- $_ = set $http "listen" (ternary (printf "0.0.0.0:%d" (int .Values.ports.http)) "off" .Values.api.enabled) -}}
{{- if .Values.api.tls.secretName -}}
{{- $_ = set $http "tls" (dict "cert_file" "/etc/compensatord/tls/tls.crt" "key_file" "/etc/compensatord/tls/tls.key") -}}
{{- end -}}
{{- $_ = set $config "http" $http -}}
{{- $_ = set $config "metrics" (dict "listen" (printf "0.0.0.0:%d" (int .Values.ports.metrics))) -}}
{{- $rendered := toYaml $config -}}
{{- if or (regexMatch "[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\\s]+:[^$/@\\s][^/@\\s]*@" $rendered) (regexMatch "(?i)password\\s*=\\s*[^$\\s]" $rendered) -}}
{{- fail "config: a DSN or URL carries a literal password; write ${NAME} and give NAME with secretEnv or envFromSecrets" -}}
{{- end -}}
{{- $rendered -}}
{{- end -}}

{{/* What the daemon and its migrate init container share: env, secrets, config, hardening. */}}
{{- define "compensatord.containerCommon" -}}
env:
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  {{- range $name, $ref := .Values.secretEnv }}
  - name: {{ $name }}
    valueFrom:
      secretKeyRef:
        name: {{ $ref.secretName }}
        key: {{ $ref.key }}
  {{- end }}
{{- with .Values.envFromSecrets }}
envFrom:
  {{- range . }}
  - secretRef:
      name: {{ . }}
  {{- end }}
{{- end }}
volumeMounts:
  - name: config
    mountPath: /etc/compensatord
    readOnly: true
  - name: tmp
    mountPath: /tmp
  {{- if .Values.api.tls.secretName }}
  - name: api-tls
    mountPath: /etc/compensatord/tls
    readOnly: true
  {{- end }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end -}}

{{/*
_helpers.tpl — names, labels and the Kafka/PostgreSQL wiring shared by every template.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "cqrs-ordering.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, truncated to 63 characters (DNS label limit). If the release name
already contains the chart name it is used as is.
*/}}
{{- define "cqrs-ordering.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version as used by the helm.sh/chart label. */}}
{{- define "cqrs-ordering.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels (recommended app.kubernetes.io/* set). */}}
{{- define "cqrs-ordering.labels" -}}
helm.sh/chart: {{ include "cqrs-ordering.chart" . }}
{{ include "cqrs-ordering.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "cqrs-ordering.name" . }}
{{- end }}

{{/* Selector labels (immutable: name + instance only). */}}
{{- define "cqrs-ordering.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cqrs-ordering.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Per-component helpers take a dict: (dict "root" $ "component" "config-server").
*/}}
{{- define "cqrs-ordering.componentFullname" -}}
{{- printf "%s-%s" (include "cqrs-ordering.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cqrs-ordering.componentLabels" -}}
{{ include "cqrs-ordering.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cqrs-ordering.componentSelectorLabels" -}}
{{ include "cqrs-ordering.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Service account to use. */}}
{{- define "cqrs-ordering.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cqrs-ordering.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference; the tag defaults to the chart appVersion. */}}
{{- define "cqrs-ordering.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* In-cluster URLs of the services. */}}
{{- define "cqrs-ordering.configServerUrl" -}}
{{- printf "%s://%s:%v" (include "cqrs-ordering.scheme" .) (include "cqrs-ordering.componentFullname" (dict "root" . "component" "config-server")) .Values.services.configServer.service.port }}
{{- end }}
{{- define "cqrs-ordering.customerServiceUrl" -}}
{{- printf "%s://%s:%v" (include "cqrs-ordering.scheme" .) (include "cqrs-ordering.componentFullname" (dict "root" . "component" "customer-service")) .Values.services.customerService.service.port }}
{{- end }}
{{- define "cqrs-ordering.orderServiceUrl" -}}
{{- printf "%s://%s:%v" (include "cqrs-ordering.scheme" .) (include "cqrs-ordering.componentFullname" (dict "root" . "component" "order-service")) .Values.services.orderService.service.port }}
{{- end }}

{{/* Names of the bundled Kafka and PostgreSQL (StatefulSet, Service, Secret). */}}
{{- define "cqrs-ordering.kafkaFullname" -}}
{{- include "cqrs-ordering.componentFullname" (dict "root" . "component" "kafka") }}
{{- end }}
{{- define "cqrs-ordering.postgresqlFullname" -}}
{{- include "cqrs-ordering.componentFullname" (dict "root" . "component" "postgresql") }}
{{- end }}

{{/* Kafka bootstrap servers: the bundled broker's client Service or externalKafka. */}}
{{- define "cqrs-ordering.kafkaBootstrapServers" -}}
{{- if .Values.kafka.enabled }}
{{- printf "%s:9092" (include "cqrs-ordering.kafkaFullname" .) }}
{{- else }}
{{- required "externalKafka.bootstrapServers is required when kafka.enabled=false" .Values.externalKafka.bootstrapServers }}
{{- end }}
{{- end }}

{{/* Database coordinates: the bundled PostgreSQL or externalDatabase. */}}
{{- define "cqrs-ordering.dbHost" -}}
{{- if .Values.postgresql.enabled }}
{{- include "cqrs-ordering.postgresqlFullname" . }}
{{- else }}
{{- required "externalDatabase.host is required when postgresql.enabled=false" .Values.externalDatabase.host }}
{{- end }}
{{- end }}
{{- define "cqrs-ordering.dbPort" -}}
{{- if .Values.postgresql.enabled }}5432{{ else }}{{ .Values.externalDatabase.port }}{{ end }}
{{- end }}
{{- define "cqrs-ordering.dbUser" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.username }}{{ else }}{{ .Values.externalDatabase.user }}{{ end }}
{{- end }}
{{- define "cqrs-ordering.dbName" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.database }}{{ else }}{{ .Values.externalDatabase.database }}{{ end }}
{{- end }}

{{- define "cqrs-ordering.dbSslmode" -}}
{{- if .Values.postgresql.enabled }}disable{{ else }}{{ .Values.externalDatabase.sslmode }}{{ end }}
{{- end }}

{{/* Secret (name and key) that holds the database password. */}}
{{- define "cqrs-ordering.dbSecretName" -}}
{{- if .Values.postgresql.enabled }}
{{- default (include "cqrs-ordering.postgresqlFullname" .) .Values.postgresql.auth.existingSecret }}
{{- else if .Values.externalDatabase.existingSecret }}
{{- .Values.externalDatabase.existingSecret }}
{{- else }}
{{- printf "%s-externaldb" (include "cqrs-ordering.fullname" .) }}
{{- end }}
{{- end }}
{{- define "cqrs-ordering.dbSecretKey" -}}
{{- if .Values.postgresql.enabled }}{{ if .Values.postgresql.auth.existingSecret }}{{ .Values.postgresql.auth.existingSecretPasswordKey }}{{ else }}password{{ end }}{{ else if .Values.externalDatabase.existingSecret }}{{ .Values.externalDatabase.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}

{{/* The Secret holding the release's passwords and tokens (secret-auth.yaml). */}}
{{- define "cqrs-ordering.authSecretName" -}}
{{- default (printf "%s-auth" (include "cqrs-ordering.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/* The Secret holding the TLS certificate of `component` (tls.crt, tls.key, ca.crt):
tls.existingSecret for all, else one per component (cert-manager's Certificate writes it). */}}
{{- define "cqrs-ordering.tlsSecretName" -}}
{{- if .root.Values.tls.existingSecret }}
{{- .root.Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "cqrs-ordering.componentFullname" .) }}
{{- end }}
{{- end }}

{{/* http or https: the programs' URL scheme. */}}
{{- define "cqrs-ordering.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

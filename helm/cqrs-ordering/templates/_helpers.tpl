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

{{/*
The services' env for a secured external Kafka: librdkafka's security properties as env
overrides of kafka-config.properties.* (KAFKA_CONFIG_PROPERTIES_*, which the services read even
when config-repo does not list the key: config-repo/README.md "Env overrides"). The SASL
password (and user name) come from a Secret, so nothing secret is in the config-repo ConfigMap.
Empty when externalKafka sets none of it. Rendered as a list of EnvVars.
*/}}
{{- define "cqrs-ordering.kafkaSecurityEnv" -}}
{{- $k := .Values.externalKafka }}
{{- $proto := $k.securityProtocol | default "" }}
{{- $sasl := $k.sasl | default dict }}
{{- $ssl := $k.ssl | default dict }}
{{- $any := or $proto $sasl.mechanism $sasl.existingSecret $sasl.username $ssl.caFile $ssl.certFile $ssl.keyFile }}
{{- if and $any .Values.kafka.enabled }}
{{- fail "externalKafka.securityProtocol / .sasl / .ssl apply to an external Kafka (kafka.enabled=false); the bundled broker speaks PLAINTEXT" }}
{{- end }}
{{- if $proto }}
- name: KAFKA_CONFIG_PROPERTIES_SECURITY_PROTOCOL
  value: {{ $proto | quote }}
{{- end }}
{{- if hasPrefix "SASL_" $proto }}
{{- $secret := required (printf "externalKafka.sasl.existingSecret (the Secret with the SASL password) is required with securityProtocol %s" $proto) $sasl.existingSecret }}
- name: KAFKA_CONFIG_PROPERTIES_SASL_MECHANISMS
  value: {{ required (printf "externalKafka.sasl.mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) is required with securityProtocol %s" $proto) $sasl.mechanism | quote }}
{{- if $sasl.username }}
- name: KAFKA_CONFIG_PROPERTIES_SASL_USERNAME
  value: {{ $sasl.username | quote }}
{{- else }}
- name: KAFKA_CONFIG_PROPERTIES_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "externalKafka.sasl.usernameKey (or externalKafka.sasl.username) is required with SASL" $sasl.usernameKey }}
{{- end }}
- name: KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $sasl.passwordKey }}
{{- else if or $sasl.mechanism $sasl.existingSecret $sasl.username }}
{{- fail "externalKafka.sasl.* needs externalKafka.securityProtocol SASL_SSL (or SASL_PLAINTEXT)" }}
{{- end }}
{{- if or $ssl.caFile $ssl.certFile $ssl.keyFile }}
{{- if not (has $proto (list "SSL" "SASL_SSL")) }}
{{- fail "externalKafka.ssl.* needs externalKafka.securityProtocol SSL or SASL_SSL" }}
{{- end }}
{{- if ne (empty $ssl.certFile) (empty $ssl.keyFile) }}
{{- fail "externalKafka.ssl.certFile and externalKafka.ssl.keyFile go together (a client certificate and its key)" }}
{{- end }}
{{- end }}
{{- with $ssl.caFile }}
- name: KAFKA_CONFIG_PROPERTIES_SSL_CA_LOCATION
  value: {{ . | quote }}
{{- end }}
{{- with $ssl.certFile }}
- name: KAFKA_CONFIG_PROPERTIES_SSL_CERTIFICATE_LOCATION
  value: {{ . | quote }}
{{- end }}
{{- with $ssl.keyFile }}
- name: KAFKA_CONFIG_PROPERTIES_SSL_KEY_LOCATION
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The services' env for PostgreSQL's TLS files (externalDatabase.sslrootcert / sslcert / sslkey):
env overrides of datasource.sslrootcert / .sslcert / .sslkey (DATASOURCE_SSL*), paths of files
that services.*.extraVolumeMounts mount. Empty when none is set. A list of EnvVars.
*/}}
{{- define "cqrs-ordering.dbTlsEnv" -}}
{{- $d := .Values.externalDatabase }}
{{- if or $d.sslrootcert $d.sslcert $d.sslkey }}
{{- if .Values.postgresql.enabled }}
{{- fail "externalDatabase.sslrootcert / sslcert / sslkey apply to an external PostgreSQL (postgresql.enabled=false); the bundled server runs without TLS" }}
{{- end }}
{{- if ne (empty $d.sslcert) (empty $d.sslkey) }}
{{- fail "externalDatabase.sslcert and externalDatabase.sslkey go together (a client certificate and its key)" }}
{{- end }}
{{- end }}
{{- with $d.sslrootcert }}
- name: DATASOURCE_SSLROOTCERT
  value: {{ . | quote }}
{{- end }}
{{- with $d.sslcert }}
- name: DATASOURCE_SSLCERT
  value: {{ . | quote }}
{{- end }}
{{- with $d.sslkey }}
- name: DATASOURCE_SSLKEY
  value: {{ . | quote }}
{{- end }}
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

{{/*
PromQL label matchers that pick one program's series of this release, whichever of
ServiceMonitor and PodMonitor scrapes them (both give each series `namespace` and `pod`):
(dict "root" $ "component" "order-service") -> namespace="cq",pod=~"cq-cqrs-ordering-order-service-.*"
*/}}
{{- define "cqrs-ordering.promSelector" -}}
namespace="{{ .root.Release.Namespace }}",pod=~"{{ include "cqrs-ordering.componentFullname" . }}-.*"
{{- end }}

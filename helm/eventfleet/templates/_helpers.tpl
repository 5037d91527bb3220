{{/*
Naming, labels and the role table. Every generated name is truncated to 63 characters (the DNS label limit).
*/}}

{{- define "eventfleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eventfleet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<suffix>, truncated. Call with (dict "root" $ "suffix" "api"). */}}
{{- define "eventfleet.componentName" -}}
{{- printf "%s-%s" (include "eventfleet.fullname" .root) .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eventfleet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "eventfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eventfleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "eventfleet.labels" -}}
helm.sh/chart: {{ include "eventfleet.chart" . }}
{{ include "eventfleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eventfleet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one role's objects. Call with (dict "root" $ "component" "api"). */}}
{{- define "eventfleet.componentLabels" -}}
{{ include "eventfleet.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "eventfleet.componentSelectorLabels" -}}
{{ include "eventfleet.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "eventfleet.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The roles: values key -> component name, CLI arguments, the cloud it needs, and what scales it.
One Deployment template renders all of them, so workers are not copies of each other.
*/}}
{{- define "eventfleet.roleTable" -}}
api: { component: api, args: [api], cloud: aws, scaler: hpa }
relay: { component: relay, args: [relay], cloud: aws, scaler: none }
inventory: { component: inventory, args: [worker, inventory], cloud: aws, scaler: sqs, envPrefix: INVENTORY }
shipment: { component: shipment, args: [worker, shipment], cloud: aws, scaler: sqs, envPrefix: SHIPMENT }
notification: { component: notification, args: [worker, notification], cloud: aws, scaler: sqs, envPrefix: NOTIFICATION }
deviceIngest: { component: device-ingest, args: [worker, device-ingest], cloud: azure, scaler: eventhub }
{{- end -}}

{{- define "eventfleet.roleOrder" -}}
[api, relay, inventory, shipment, notification, deviceIngest]
{{- end -}}

{{/* "true" when the role is enabled and its cloud is. Call with (dict "root" $ "key" "api"). */}}
{{- define "eventfleet.roleEnabled" -}}
{{- $spec := get (include "eventfleet.roleTable" .root | fromYaml) .key -}}
{{- $cloud := get .root.Values $spec.cloud -}}
{{- if and (get .root.Values .key).enabled $cloud.enabled -}}true{{- end -}}
{{- end -}}

{{/* "true" when KEDA owns this role's replica count. */}}
{{- define "eventfleet.kedaScaled" -}}
{{- $spec := get (include "eventfleet.roleTable" .root | fromYaml) .key -}}
{{- if and .root.Values.keda.enabled (has $spec.scaler (list "sqs" "eventhub")) -}}true{{- end -}}
{{- end -}}

{{- define "eventfleet.serviceAccountName" -}}
{{- include "eventfleet.componentName" (dict "root" .root "suffix" .component) -}}
{{- end -}}

{{- define "eventfleet.ordersTopicArn" -}}
{{- $aws := .Values.aws -}}
{{- default (printf "arn:aws:sns:%s:%s:%s-orders" $aws.region $aws.accountId .Values.environment) $aws.ordersTopicArn -}}
{{- end -}}

{{/* SQS queue URL of a worker. Call with (dict "root" $ "key" "inventory" "dlq" false). */}}
{{- define "eventfleet.queueUrl" -}}
{{- $v := .root.Values -}}
{{- $role := get $v .key -}}
{{- $explicit := ternary $role.dlqUrl $role.queueUrl .dlq -}}
{{- if $explicit -}}
{{- $explicit -}}
{{- else -}}
{{- if not $v.aws.accountId -}}
{{- fail (printf "%s.%s: set it, or set aws.accountId so the chart derives it" .key (ternary "dlqUrl" "queueUrl" .dlq)) -}}
{{- end -}}
{{- printf "https://sqs.%s.amazonaws.com/%s/%s-%s%s" $v.aws.region $v.aws.accountId $v.environment .key (ternary "-dlq" "" .dlq) -}}
{{- end -}}
{{- end -}}

{{/* Checkpoint container: the worker's <environment>-checkpoints unless overridden; KEDA reads the same one. */}}
{{- define "eventfleet.checkpointContainer" -}}
{{- default (printf "%s-checkpoints" .Values.environment) .Values.azure.storage.checkpointContainer -}}
{{- end -}}

{{/* Where the API reads its key hashes: the mounted api.auth.apiKeys Secret. */}}
{{- define "eventfleet.apiKeysFile" -}}
{{- printf "/etc/eventfleet/api-keys/%s" .Values.api.auth.apiKeys.secretKey -}}
{{- end -}}

{{/* Port of notification.webhookUrl when it is not 443 (egress needs it); empty otherwise. */}}
{{- define "eventfleet.webhookPort" -}}
{{- $url := .Values.notification.webhookUrl -}}
{{- if and $url .Values.aws.enabled .Values.notification.enabled -}}
{{- $u := urlParse $url -}}
{{- $port := ternary "80" "443" (eq $u.scheme "http") -}}
{{- if contains ":" $u.host -}}{{- $port = last (splitList ":" $u.host) -}}{{- end -}}
{{- if ne $port "443" -}}{{ $port }}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Redis port for egress: the one in redis.url when it names one, else networkPolicy.egress.redisPort. */}}
{{- define "eventfleet.redisPort" -}}
{{- $port := toString .Values.networkPolicy.egress.redisPort -}}
{{- with .Values.redis.url -}}
{{- $u := urlParse . -}}
{{- if contains ":" $u.host -}}{{- $port = last (splitList ":" $u.host) -}}{{- end -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{/* Every Redis port for egress, as a JSON list: redis.url's (or redisPort) and each cluster seed's. */}}
{{- define "eventfleet.redisPorts" -}}
{{- $ports := list (include "eventfleet.redisPort" .) -}}
{{- range .Values.redis.clusterNodes -}}
{{- $ports = append $ports (last (splitList ":" .)) -}}
{{- end -}}
{{- $ports | uniq | toJson -}}
{{- end -}}

{{/*
In cluster mode REDIS_URL carries only credentials and TLS: the roles refuse a URL whose host is not a seed or that
selects a database (shared/redis-target.ts); the chart says so before anything is installed.
*/}}
{{- define "eventfleet.validateRedisCluster" -}}
{{- $v := .Values -}}
{{- if and $v.redis.clusterNodes $v.redis.url -}}
{{- $u := urlParse $v.redis.url -}}
{{- $host := ternary $u.host (printf "%s:6379" $u.host) (contains ":" $u.host) -}}
{{- if and (ne $host "127.0.0.1:6379") (not (has $host $v.redis.clusterNodes)) -}}
{{- fail (printf "redis.url names %s, which is not one of redis.clusterNodes (%s): with a cluster REDIS_URL carries only credentials and TLS; point it at a seed" $host (join "," $v.redis.clusterNodes)) -}}
{{- end -}}
{{- if not (has (trimPrefix "/" $u.path) (list "" "0")) -}}
{{- fail (printf "redis.url selects database %s, but a Redis Cluster has only database 0: drop it from the URL" (trimPrefix "/" $u.path)) -}}
{{- end -}}
{{- end -}}
{{- range $v.networkPolicy.egress.redisPortRanges -}}
{{- if lt (int .endPort) (int .port) -}}
{{- fail (printf "networkPolicy.egress.redisPortRanges: endPort %d is below port %d" (int .endPort) (int .port)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Target and activation of an observer trigger: so high that it never asks for a replica. */}}
{{- define "eventfleet.observerThreshold" -}}1000000000{{- end -}}

{{- define "eventfleet.storageAccountUrl" -}}
{{- $s := .Values.azure.storage -}}
{{- default (printf "https://%s.blob.core.windows.net" $s.accountName) $s.accountUrl -}}
{{- end -}}

{{/* Pod grace period: explicit, or budget + preStop + 10 s; always above the shutdown budget. */}}
{{- define "eventfleet.graceSeconds" -}}
{{- $budget := int .Values.shutdownTimeoutMs -}}
{{- $preStop := int .Values.api.preStopSleepSeconds -}}
{{- $grace := .Values.terminationGracePeriodSeconds -}}
{{- if kindIs "invalid" $grace -}}
{{- $grace = add (div (add $budget 999) 1000) $preStop 10 -}}
{{- end -}}
{{- if le (mul (int $grace) 1000) (add $budget (mul $preStop 1000)) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be above shutdownTimeoutMs (%d ms) + api.preStopSleepSeconds (%d s), or pods are killed mid-shutdown" (int $grace) $budget $preStop) -}}
{{- end -}}
{{- int $grace -}}
{{- end -}}

{{/* The API is authenticated unless deliberately private, and each mode has what it needs. */}}
{{- define "eventfleet.validateApiAuth" -}}
{{- $api := .Values.api -}}
{{- if and (eq $api.authMode "apikey") (not $api.auth.apiKeys.secretName) (not .Values.existingSecret) -}}
{{- fail "api.authMode=apikey: set api.auth.apiKeys.secretName to a Secret holding the API_KEYS JSON of key hashes (docs/deploy-eks.md §5), or put API_KEYS in existingSecret" -}}
{{- end -}}
{{- if eq $api.authMode "jwt" -}}
{{- range $field := list "jwksUrl" "issuer" "audience" -}}
{{- if not (get $api.auth.jwt $field) -}}
{{- fail (printf "api.authMode=jwt needs api.auth.jwt.%s" $field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $api.ingress.enabled (eq $api.authMode "none") -}}
{{- fail "api.ingress.enabled with api.authMode=none would let anyone place and read orders: set api.authMode=apikey or jwt" -}}
{{- end -}}
{{- if and $api.ingress.enabled (eq $api.ingress.className "alb") -}}
{{- $a := $api.ingress.annotations -}}
{{- if and (eq (get $a "alb.ingress.kubernetes.io/scheme") "internet-facing") (not (get $a "alb.ingress.kubernetes.io/certificate-arn")) (not $api.ingress.tls) -}}
{{- fail "api.ingress: an internet-facing ALB needs TLS: set the alb.ingress.kubernetes.io/certificate-arn annotation (or api.ingress.tls hosts with a certificate in ACM)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Replica bounds: KEDA and the HPA take min above max without complaint, so the chart refuses it. */}}
{{- define "eventfleet.validateReplicaBounds" -}}
{{- $v := .Values -}}
{{- if and $v.api.autoscaling.enabled (gt (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) -}}
{{- fail (printf "api.autoscaling.minReplicas (%d) must not exceed api.autoscaling.maxReplicas (%d)" (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- range $key := list "inventory" "shipment" "notification" "deviceIngest" -}}
{{- $k := (get $v $key).keda -}}
{{- if gt (int $k.minReplicaCount) (int $k.maxReplicaCount) -}}
{{- fail (printf "%s.keda.minReplicaCount (%d) must not exceed %s.keda.maxReplicaCount (%d)" $key (int $k.minReplicaCount) $key (int $k.maxReplicaCount)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cross-field checks the JSON schema cannot express. Rendered once (from deployment.yaml). */}}
{{- define "eventfleet.validate" -}}
{{- $v := .Values -}}
{{- include "eventfleet.validateReplicaBounds" . -}}
{{- if not (or $v.aws.enabled $v.azure.enabled) -}}
{{- fail "nothing to deploy: set aws.enabled=true and/or azure.enabled=true" -}}
{{- end -}}
{{- if $v.aws.enabled -}}
{{- if not (or $v.aws.accountId $v.aws.ordersTopicArn) -}}
{{- fail "aws.accountId is required when aws.enabled=true (or set aws.ordersTopicArn and every worker's queueUrl/dlqUrl)" -}}
{{- end -}}
{{- if not (or $v.redis.url $v.redis.clusterNodes $v.existingSecret) -}}
{{- fail "REDIS_URL: set redis.url, or put REDIS_URL in the Secret named by existingSecret (or, for a Redis Cluster, set redis.clusterNodes)" -}}
{{- end -}}
{{- include "eventfleet.validateRedisCluster" . -}}
{{- if and (eq $v.aws.auth "secret") (not $v.existingSecret) -}}
{{- fail "aws.auth=secret needs existingSecret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the roles and KEDA's SQS triggers read them)" -}}
{{- end -}}
{{- if and $v.keda.enabled (eq $v.aws.auth "irsa") (eq $v.keda.aws.identityOwner "workload") -}}
{{- range $key := list "inventory" "shipment" "notification" -}}
{{- if and (get $v $key).enabled (not (or (get $v $key).serviceAccount.awsRoleArn $v.aws.roleArn)) -}}
{{- fail (printf "%s: KEDA scales it with the worker's own IRSA role (keda.aws.identityOwner=workload): set aws.roleArn or %s.serviceAccount.awsRoleArn" $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $v.api.enabled -}}
{{- include "eventfleet.validateApiAuth" . -}}
{{- end -}}
{{- if and $v.api.enabled (not $v.api.relay) (not $v.relay.enabled) -}}
{{- fail "no outbox relay: set api.relay=true or relay.enabled=true, or orders are never published" -}}
{{- end -}}
{{- end -}}
{{- if and $v.azure.enabled $v.deviceIngest.enabled -}}
{{- $hub := $v.azure.eventHubs -}}
{{- if not $hub.namespace -}}
{{- fail "azure.eventHubs.namespace is required when azure.enabled=true (the namespace name, not the FQDN)" -}}
{{- end -}}
{{- if gt (int $v.deviceIngest.keda.maxReplicaCount) (int $hub.partitionCount) -}}
{{- fail (printf "deviceIngest.keda.maxReplicaCount (%d) must not exceed azure.eventHubs.partitionCount (%d): a replica without a partition only idles" (int $v.deviceIngest.keda.maxReplicaCount) (int $hub.partitionCount)) -}}
{{- end -}}
{{- if and (not $v.keda.enabled) (gt (int $v.deviceIngest.replicaCount) (int $hub.partitionCount)) -}}
{{- fail (printf "deviceIngest.replicaCount (%d) must not exceed azure.eventHubs.partitionCount (%d)" (int $v.deviceIngest.replicaCount) (int $hub.partitionCount)) -}}
{{- end -}}
{{- if eq $v.azure.auth "workload" -}}
{{- if not $v.azure.clientId -}}
{{- fail "azure.clientId (the managed identity's client id) is required with azure.auth=workload" -}}
{{- end -}}
{{- if not (or $v.azure.storage.accountName $v.azure.storage.accountUrl) -}}
{{- fail "azure.storage.accountName is required with azure.auth=workload (checkpoints and ownership live there)" -}}
{{- end -}}
{{- if and $v.keda.enabled (not $v.azure.storage.accountName) -}}
{{- fail "azure.storage.accountName is required: KEDA's azure-eventhub scaler reads checkpoints from it" -}}
{{- end -}}
{{- if not $v.azure.cosmos.endpoint -}}
{{- fail "azure.cosmos.endpoint is required with azure.auth=workload (COSMOS_ENDPOINT)" -}}
{{- end -}}
{{- else if not $v.existingSecret -}}
{{- fail "azure.auth=connectionString needs existingSecret with EVENTHUB_CONNECTION_STRING, STORAGE_CONNECTION_STRING, COSMOS_ENDPOINT and COSMOS_KEY" -}}
{{- end -}}
{{- end -}}
{{- if and $v.keda.enabled $v.keda.capabilityCheck (not (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject")) -}}
{{- fail "keda.enabled=true but the cluster has no keda.sh/v1alpha1 ScaledObject API: install KEDA first (docs/deploy-eks.md, docs/deploy-aks.md) or set keda.enabled=false" -}}
{{- end -}}
{{- $m := $v.monitoring -}}
{{- if and $m.capabilityCheck (or $m.serviceMonitor.enabled $m.podMonitor.enabled $m.prometheusRule.enabled) (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
{{- fail "monitoring objects enabled but the cluster has no monitoring.coreos.com/v1 API: install the Prometheus Operator (kube-prometheus-stack) or turn monitoring.*.enabled off" -}}
{{- end -}}
{{- end -}}

{{/* Where the device flow's resources are: the worker's and the operator's (eventfleet deadletter) settings. */}}
{{- define "eventfleet.azureEnv" -}}
{{- $v := .Values -}}
{{- $hub := $v.azure.eventHubs -}}
{{- if eq $v.azure.auth "workload" }}
- name: EVENTHUB_NAMESPACE
  value: {{ printf "%s.servicebus.windows.net" $hub.namespace | quote }}
- name: STORAGE_ACCOUNT_URL
  value: {{ include "eventfleet.storageAccountUrl" . | quote }}
- name: COSMOS_ENDPOINT
  value: {{ $v.azure.cosmos.endpoint | quote }}
{{- end }}
- name: EVENTHUB_NAME
  value: {{ $hub.name | quote }}
- name: EVENTHUB_CONSUMER_GROUP
  value: {{ $hub.consumerGroup | quote }}
- name: EVENTHUB_CHECKPOINT_CONTAINER
  value: {{ include "eventfleet.checkpointContainer" . | quote }}
{{- with $v.azure.cosmos.database }}
- name: COSMOS_DATABASE
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The container environment of one role. Call with (dict "root" $ "key" "inventory"). */}}
{{- define "eventfleet.env" -}}
{{- $v := .root.Values -}}
{{- $spec := get (include "eventfleet.roleTable" .root | fromYaml) .key -}}
{{- $role := get $v .key -}}
- name: EVENTFLEET_ENV
  value: {{ $v.environment | quote }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: MANAGEMENT_PORT
  value: "9464"
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ $v.shutdownTimeoutMs | int | quote }}
{{- if eq $spec.cloud "aws" }}
{{- with $v.redis.url }}
- name: REDIS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.redis.clusterNodes }}
- name: REDIS_CLUSTER_NODES
  value: {{ join "," . | quote }}
{{- end }}
- name: REDIS_SLOT_GROUPS
  value: {{ $v.redis.slotGroups | int | quote }}
{{- $publishes := or (eq .key "relay") (and (eq .key "api") $role.relay) }}
{{- if or $publishes (eq $spec.scaler "sqs") }}
- name: AWS_REGION
  value: {{ $v.aws.region | quote }}
{{- with $v.aws.endpointUrl }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if $publishes }}
- name: ORDERS_TOPIC_ARN
  value: {{ include "eventfleet.ordersTopicArn" .root | quote }}
{{- end }}
{{- end }}
{{- if eq .key "api" }}
- name: API_PORT
  value: "8080"
{{- if not (kindIs "invalid" $v.redis.writeReplicas) }}
- name: REDIS_WRITE_REPLICAS
  value: {{ $v.redis.writeReplicas | int | quote }}
{{- end }}
{{- with $v.redis.writeTimeoutMs }}
- name: REDIS_WRITE_TIMEOUT_MS
  value: {{ . | int | quote }}
{{- end }}
- name: AUTH_MODE
  value: {{ $role.authMode | quote }}
{{- if and (eq $role.authMode "apikey") $role.auth.apiKeys.secretName }}
- name: API_KEYS_FILE
  value: {{ include "eventfleet.apiKeysFile" .root | quote }}
{{- end }}
{{- if eq $role.authMode "jwt" }}
{{- $jwt := $role.auth.jwt }}
- name: JWT_JWKS_URL
  value: {{ $jwt.jwksUrl | quote }}
- name: JWT_ISSUER
  value: {{ $jwt.issuer | quote }}
- name: JWT_AUDIENCE
  value: {{ $jwt.audience | quote }}
- name: JWT_SCOPE_CLAIM
  value: {{ $jwt.scopeClaim | quote }}
{{- end }}
{{- with $role.trustProxy }}
- name: TRUST_PROXY
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq $spec.scaler "sqs" }}
- name: {{ $spec.envPrefix }}_QUEUE_URL
  value: {{ include "eventfleet.queueUrl" (dict "root" .root "key" .key "dlq" false) | quote }}
- name: {{ $spec.envPrefix }}_DLQ_URL
  value: {{ include "eventfleet.queueUrl" (dict "root" .root "key" .key "dlq" true) | quote }}
- name: WORKER_CONCURRENCY
  value: {{ $role.concurrency | int | quote }}
{{- with $role.maxInFlight }}
- name: WORKER_MAX_IN_FLIGHT
  value: {{ . | int | quote }}
{{- end }}
{{- end }}
{{- if and (eq .key "notification") $role.webhookUrl }}
- name: NOTIFY_WEBHOOK_URL
  value: {{ $role.webhookUrl | quote }}
{{- end }}
{{- if eq $spec.scaler "eventhub" }}
{{ include "eventfleet.azureEnv" .root | trim }}
- name: DEVICE_INGEST_CHECKPOINT_EVENTS
  value: {{ $role.checkpoint.events | int | quote }}
- name: DEVICE_INGEST_CHECKPOINT_INTERVAL_MS
  value: {{ $role.checkpoint.intervalMs | int | quote }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $role.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $v.otel }}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .samplingRatio | toString | quote }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- with .resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ . | quote }}
{{- end }}
{{- if .headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ .headersSecret.name }}
      key: {{ .headersSecret.key }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

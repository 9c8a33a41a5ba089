{{/* The fleet's services (files/services.json, generated from workers/registry.ts) as JSON: use with fromJson. */}}
{{- define "warren.registry" -}}
{{- .Files.Get "files/services.json" -}}
{{- end -}}

{{/*
One service's settings: serviceDefaults with services.<name> merged over them, key by key (unlike Sprig's merge
functions, a false or 0 override wins). Call with (dict "root" $ "service" "order"); returns JSON.
*/}}
{{- define "warren.serviceValues" -}}
{{- include "warren.merge" (dict "base" .root.Values.serviceDefaults "override" (default dict (index .root.Values.services .service))) -}}
{{- end -}}

{{- define "warren.merge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .override -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $out $key)) -}}
{{- $_ := set $out $key (include "warren.merge" (dict "base" (index $out $key) "override" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "warren.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "warren.fullname" -}}
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

{{- define "warren.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "warren.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: warren
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "service" "order"). */}}
{{- define "warren.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warren.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "warren.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "warren.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "warren.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Whole-number floats (how Helm reads YAML numbers) print as integers, never 6.048e+08. */}}
{{- define "warren.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- printf "%d" (int64 .) -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* A declared port (a service's ops or api entry): its variable in config, else its default. Call with (dict "root" $ "port" $svc.ops). */}}
{{- define "warren.port" -}}
{{- include "warren.envValue" (default .port.default (index .root.Values.config .port.env)) -}}
{{- end -}}

{{/* The chart-made Secret is "<fullname>-chart-credentials", never the documented "warren-credentials" of an existing
Secret: switching a release from one to the other must not meet a Secret that the other owns. */}}
{{- define "warren.secretName" -}}
{{- default (printf "%s-chart-credentials" (include "warren.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "warren.rabbitmqName" -}}
{{- default (printf "%s-rabbitmq" (include "warren.fullname" .)) .Values.rabbitmqCluster.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cross-field checks the schema cannot express; fail the render with one line naming the value. */}}
{{- define "warren.validate" -}}
{{- $root := . -}}
{{- include "warren.validateCrds" . -}}
{{- include "warren.validateImageSettings" . -}}
{{- include "warren.validateExistingSecret" . -}}
{{- if and .Values.config.REDIS_SENTINELS (not .Values.config.REDIS_SENTINEL_NAME) -}}
{{- fail "config.REDIS_SENTINEL_NAME is required with config.REDIS_SENTINELS (the master name the sentinels monitor)" -}}
{{- end -}}
{{- if and .Values.config.REDIS_SENTINEL_NAME (not .Values.config.REDIS_SENTINELS) -}}
{{- fail "config.REDIS_SENTINELS is required with config.REDIS_SENTINEL_NAME (host:port of each sentinel)" -}}
{{- end -}}
{{- $shutdownMs := int64 (include "warren.envValue" .Values.config.SHUTDOWN_TIMEOUT_MS) -}}
{{- range $svc := (include "warren.registry" .| fromJson).services -}}
{{- $service := $svc.name -}}
{{- $s := include "warren.serviceValues" (dict "root" $root "service" $service) | fromJson -}}
{{- $needMs := add (mul (int64 $s.preStopSleepSeconds) 1000) $shutdownMs 2000 -}}
{{- if lt (mul (int64 $s.terminationGracePeriodSeconds) 1000) $needMs -}}
{{- fail (printf "services.%s.terminationGracePeriodSeconds (%v s) must cover preStopSleepSeconds (%v s) + SHUTDOWN_TIMEOUT_MS (%v ms) + 2 s, or SIGKILL cuts the drain" $service $s.terminationGracePeriodSeconds $s.preStopSleepSeconds $shutdownMs) -}}
{{- end -}}
{{- if and $s.autoscaling.enabled (gt (int64 $s.autoscaling.minReplicas) (int64 $s.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.autoscaling.minReplicas must not exceed maxReplicas" $service) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.existingSecret is required when tls.enabled (a Secret with ca.crt, tls.crt and tls.key)" -}}
{{- end -}}
{{- /* Before the URLs: a user without a password fails naming its password, not a URL. */ -}}
{{- if and .Values.rabbitmqCluster.enabled (not .Values.rabbitmqCluster.existingDefinitionsSecret) -}}
{{- $users := list -}}
{{- range $svc := (include "warren.registry" . | fromJson).services -}}
{{- $users = append $users $svc.name -}}
{{- end -}}
{{- $hashes := default dict .Values.rabbitmqCluster.passwordHashes -}}
{{- $passwords := default dict .Values.rabbitmqCluster.passwords -}}
{{- range $user := append $users "admin" -}}
{{- if and (index $hashes $user) (index $passwords $user) -}}
{{- fail (printf "rabbitmqCluster.passwordHashes.%s and rabbitmqCluster.passwords.%s are both set: keep the hash, drop the password" $user $user) -}}
{{- end -}}
{{- if not (or (index $hashes $user) (index $passwords $user)) -}}
{{- fail (printf "rabbitmqCluster.passwordHashes.%s is required when rabbitmqCluster.enabled (node deploy/rabbitmq/render-definitions.mjs --hash, docs/deploy.md; or the discouraged rabbitmqCluster.passwords.%s, or rabbitmqCluster.existingDefinitionsSecret)" $user $user) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if .Values.secrets.redisUrlPerService -}}
{{- range $svc := (include "warren.registry" . | fromJson).services -}}
{{- if not (index $root.Values.secrets.redisUrls $svc.name) -}}
{{- fail (printf "secrets.redisUrls.%s is required when secrets.redisUrlPerService (its own Redis ACL user)" $svc.name) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.secrets.redisUrl -}}
{{- fail "secrets.redisUrl (the operator's, for the redis-functions hook) is required when secrets.redisUrlPerService" -}}
{{- end -}}
{{- else if not .Values.secrets.redisUrl -}}
{{- fail "secrets.redisUrl is required when secrets.existingSecret is empty" -}}
{{- end -}}
{{- $hashes := default dict .Values.rabbitmqCluster.passwordHashes -}}
{{- range $svc := (include "warren.registry" .| fromJson).services -}}
{{- $service := $svc.name -}}
{{- if and (not (index $root.Values.secrets.amqpUrls $service)) (not (include "warren.canBuildAmqpUrl" (dict "root" $root "user" $service))) -}}
{{- if and $root.Values.rabbitmqCluster.enabled (index $hashes $service) -}}
{{- fail (printf "secrets.amqpUrls.%s is required when secrets.existingSecret is empty: rabbitmqCluster.passwordHashes.%s is a hash, from which no URL can be built (or keep the URLs in secrets.existingSecret)" $service $service) -}}
{{- end -}}
{{- fail (printf "secrets.amqpUrls.%s is required when secrets.existingSecret is empty (or enable rabbitmqCluster with passwords)" $service) -}}
{{- end -}}
{{- end -}}
{{- /* Without it the topology Job would connect as warren-admin with an empty password. */ -}}
{{- if and .Values.topologyJob.enabled (not .Values.secrets.topologyAmqpUrl) (not (include "warren.canBuildAmqpUrl" (dict "root" $root "user" "admin"))) -}}
{{- if and .Values.rabbitmqCluster.enabled $hashes.admin -}}
{{- fail "secrets.topologyAmqpUrl is required when secrets.existingSecret is empty: rabbitmqCluster.passwordHashes.admin is a hash, from which no URL can be built (or keep topology-amqp-url in secrets.existingSecret)" -}}
{{- end -}}
{{- fail "secrets.topologyAmqpUrl (the operator's URL, warren-admin, for the topology Job) is required when secrets.existingSecret is empty and topologyJob.enabled (or enable rabbitmqCluster with passwords)" -}}
{{- end -}}
{{- end -}}
{{- /* In every AUTH_MODE: without it the ops ports' admin routes (PUT /stock, the payment ledger) answer anyone. */ -}}
{{- if and (not .Values.secrets.existingSecret) (not .Values.secrets.opsToken) -}}
{{- fail "secrets.opsToken is required when secrets.existingSecret is empty, whatever config.AUTH_MODE (OPS_TOKEN guards the ops ports' admin routes)" -}}
{{- end -}}
{{- if and (not .Values.secrets.existingSecret) (not .Values.secrets.paymentTokenKeys) -}}
{{- fail "secrets.paymentTokenKeys is required when secrets.existingSecret is empty (kid:base64key,...; the services that seal or open payment tokens refuse to start without it)" -}}
{{- end -}}
{{- end -}}

{{/*
What the image (NODE_ENV=production) refuses to start without, checked here so that `helm install` fails with the
value's name instead of every pod crash-looping after "STATUS: deployed".
*/}}
{{- define "warren.validateImageSettings" -}}
{{- if eq (toString .Values.config.AUTH_MODE) "jwt" -}}
{{- if not .Values.config.AUTH_JWKS_URL -}}
{{- fail "config.AUTH_JWKS_URL is required with config.AUTH_MODE=jwt (your identity provider's JWKS URL), or set config.AUTH_MODE=off" -}}
{{- end -}}
{{- if not .Values.config.AUTH_AUDIENCE -}}
{{- fail "config.AUTH_AUDIENCE is required with config.AUTH_MODE=jwt (the audience your identity provider puts in Warren's tokens)" -}}
{{- end -}}
{{- end -}}
{{- if not .Values.config.PRICE_LIST -}}
{{- fail "config.PRICE_LIST is required: JSON unit prices per product and currency, e.g. {\"P001\":{\"USD\":75}}, or off to take totals as clients send them" -}}
{{- end -}}
{{- if and (ne (toString .Values.config.PRICE_LIST) "off") (not (hasPrefix "{" (trim (toString .Values.config.PRICE_LIST)))) -}}
{{- fail "config.PRICE_LIST must be a JSON object of unit prices per product and currency, or off" -}}
{{- end -}}
{{- end -}}

{{/*
An existing Secret, checked where the chart can see it: against a cluster (helm install/upgrade, not helm template,
where lookup answers nothing) it must exist and hold every key the services need, so a missing one fails the
install naming the key. The Secret list is asked first: it is empty only where no cluster is asked.
*/}}
{{- define "warren.validateExistingSecret" -}}
{{- $name := .Values.secrets.existingSecret -}}
{{- if and $name (lookup "v1" "Secret" .Release.Namespace "") -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- if not $secret -}}
{{- fail (printf "secrets.existingSecret: no Secret %q in namespace %s: create it first (docs/deploy.md), or set secrets.existingSecret=\"\" to have the chart make one from secrets.*" $name .Release.Namespace) -}}
{{- end -}}
{{- $data := default dict $secret.data -}}
{{- $root := . -}}
{{- /* Which declared secret variables a service cannot start without (others are optional in this chart). */ -}}
{{- $required := dict "PAYMENT_TOKEN_KEYS" true "OPS_TOKEN" true "AUTH_JWT_SECRET" false -}}
{{- range $svc := (include "warren.registry" . | fromJson).services -}}
{{- $keys := list (printf "%s-amqp-url" $svc.name) (ternary (printf "%s-redis-url" $svc.name) "redis-url" $root.Values.secrets.redisUrlPerService) -}}
{{- range $variable := $svc.secrets -}}
{{- if (hasKey $required $variable | ternary (index $required $variable) true) -}}
{{- $keys = append $keys ($variable | lower | replace "_" "-") -}}
{{- end -}}
{{- end -}}
{{- /* The topology Job declares the broker topology with the operator's URL (templates/topology-job.yaml). */ -}}
{{- if $root.Values.topologyJob.enabled -}}
{{- $keys = append $keys "topology-amqp-url" -}}
{{- end -}}
{{- /* The redis-functions hook loads Redis functions with the operator's redis-url (templates/redis-functions-job.yaml). */ -}}
{{- if $root.Values.secrets.redisUrlPerService -}}
{{- $keys = append $keys "redis-url" -}}
{{- end -}}
{{- range $key := $keys -}}
{{- if not (index $data $key) -}}
{{- fail (printf "secrets.existingSecret: Secret %q has no key %q, which the %s service needs (docs/deploy.md lists every key)" $name $key $svc.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The AMQP URL the chart builds for a service connecting to the chart's RabbitmqCluster, from its plaintext
rabbitmqCluster.passwords entry (a password_hash cannot give one: warren.validate then requires secrets.amqpUrls);
call with (dict "root" $ "svc" $svc).
*/}}
{{- define "warren.clusterAmqpUrl" -}}
{{- $pw := index (default dict .root.Values.rabbitmqCluster.passwords) .svc.name | default "" -}}
{{- printf "amqp://%s:%s@%s.%s.svc:5672/warren" .svc.user (urlquery $pw) (include "warren.rabbitmqName" .root) .root.Release.Namespace -}}
{{- end -}}

{{/* "true" when the chart can build this user's AMQP URL: its own RabbitmqCluster, from a plaintext password. */}}
{{- define "warren.canBuildAmqpUrl" -}}
{{- $rmq := .root.Values.rabbitmqCluster -}}
{{- if and $rmq.enabled (not $rmq.existingDefinitionsSecret) (index (default dict $rmq.passwords) .user) -}}true{{- end -}}
{{- end -}}

{{/*
Where a pod finds its credentials: files of a projected volume of the credentials Secret, each named by a
<NAME>_FILE variable (shared/config/secret-files.ts), never an environment variable, which anything that may read
the process's environment reads too (/proc/<pid>/environ, a crash report, `kubectl get pod -o yaml` of a
secretKeyRef's name).
*/}}
{{- define "warren.credentialsDir" -}}/etc/warren/credentials{{- end -}}

{{/*
The Secret's keys a pod needs, and no other, as the volume "credentials". Call with (dict "secret" NAME "files"
(dict VARIABLE key ...) "optionalFiles" (dict VARIABLE key ...)); each file is named after its variable (AMQP_URL:
amqp-url). A missing optional key leaves its file out: the pod still starts and the service names the <NAME>_FILE
it cannot read, where an optional secretKeyRef left the variable unset.
Files are owned by root, group the pod's fsGroup, mode 0440: the app user (runAsUser, in fsGroup) reads them,
others (no other user runs in the pod) do not, and nothing in the container can change them (read-only volume).
*/}}
{{- define "warren.credentialsVolume" -}}
- name: credentials
  projected:
    # 288 is 0o440, written in decimal: a leading 0 is octal in YAML 1.1 and decimal in 1.2.
    defaultMode: 288
    sources:
      - secret:
          name: {{ .secret }}
          items:
            {{- range $variable, $key := .files }}
            - { key: {{ $key }}, path: {{ $variable | lower | replace "_" "-" }} }
            {{- end }}
      {{- with .optionalFiles }}
      - secret:
          name: {{ $.secret }}
          optional: true
          items:
            {{- range $variable, $key := . }}
            - { key: {{ $key }}, path: {{ $variable | lower | replace "_" "-" }} }
            {{- end }}
      {{- end }}
{{- end -}}

{{/* The mount of the "credentials" volume, read-only. */}}
{{- define "warren.credentialsMount" -}}
- name: credentials
  mountPath: {{ include "warren.credentialsDir" . }}
  readOnly: true
{{- end -}}

{{/* <NAME>_FILE for each file of warren.credentialsVolume; call with the same dict. */}}
{{- define "warren.credentialsEnv" -}}
{{- range $variable, $_ := merge (dict) .files (default dict .optionalFiles) }}
- name: {{ $variable }}_FILE
  value: {{ include "warren.credentialsDir" $ }}/{{ $variable | lower | replace "_" "-" }}
{{- end }}
{{- end -}}

{{/* An optional resource whose CRD the cluster lacks fails here, naming the CRD and the value that turns it off. */}}
{{- define "warren.validateCrds" -}}
{{- if .Values.checkCrds -}}
{{- $root := . -}}
{{- $keda := false -}}
{{- range $svc := (include "warren.registry" . | fromJson).services -}}
{{- $s := include "warren.serviceValues" (dict "root" $root "service" $svc.name) | fromJson -}}
{{- if and $s.autoscaling.enabled (eq $root.Values.autoscaling.engine "keda") -}}{{- $keda = true -}}{{- end -}}
{{- end -}}
{{- $wanted := list -}}
{{- if .Values.metrics.serviceMonitor.enabled -}}
{{- $wanted = append $wanted (list "monitoring.coreos.com/v1/ServiceMonitor" "ServiceMonitor (Prometheus Operator)" "metrics.serviceMonitor.enabled=false") -}}
{{- end -}}
{{- if .Values.metrics.prometheusRule.enabled -}}
{{- $wanted = append $wanted (list "monitoring.coreos.com/v1/PrometheusRule" "PrometheusRule (Prometheus Operator)" "metrics.prometheusRule.enabled=false") -}}
{{- end -}}
{{- if $keda -}}
{{- $wanted = append $wanted (list "keda.sh/v1alpha1/ScaledObject" "ScaledObject (KEDA)" "autoscaling.engine=hpa, or autoscaling.enabled=false for each service") -}}
{{- end -}}
{{- if .Values.rabbitmqCluster.enabled -}}
{{- $wanted = append $wanted (list "rabbitmq.com/v1beta1/RabbitmqCluster" "RabbitmqCluster (RabbitMQ Cluster Operator)" "rabbitmqCluster.enabled=false") -}}
{{- end -}}
{{- range $crd := $wanted -}}
{{- if not ($root.Capabilities.APIVersions.Has (index $crd 0)) -}}
{{- fail (printf "this cluster has no %s CRD (%s): install it first, or set %s (checkCrds=false skips this check where no cluster is asked)" (index $crd 1) (index $crd 0) (index $crd 2)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

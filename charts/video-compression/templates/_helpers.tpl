{{/* Names, labels and the pieces every template shares. */}}

{{- define "vcs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart name>, or the release alone when it already holds the name. Leaves room for
     the longest suffix (-controller-leader, 18 characters) in 63. */}}
{{- define "vcs.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The installation: the Jobs' app.kubernetes.io/instance label and the prefix of their names
     (KUBE_INSTANCE, at most 29 characters so a Job name stays within 63). */}}
{{- define "vcs.instance" -}}
{{- if gt (len .Release.Name) 29 -}}
{{- fail (printf "the release name %q is longer than 29 characters: it prefixes every transcoder Job's name (<release>-<video id>-<attempt>, at most 63); choose a shorter release name" .Release.Name) -}}
{{- end -}}
{{- .Release.Name -}}
{{- end -}}

{{- define "vcs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vcs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vcs.name" .root }}
app.kubernetes.io/instance: {{ include "vcs.instance" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every object: {root, component}. */}}
{{- define "vcs.labels" -}}
helm.sh/chart: {{ include "vcs.chart" .root }}
{{ include "vcs.selectorLabels" . }}
app.kubernetes.io/part-of: video-compression
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "vcs.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "vcs.controllerServiceAccount" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (printf "%s-controller" (include "vcs.fullname" .)) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vcs.transcoderServiceAccount" -}}
{{- if .Values.transcoder.serviceAccount.create -}}
{{- default (printf "%s-transcoder" (include "vcs.fullname" .)) .Values.transcoder.serviceAccount.name -}}
{{- else -}}
{{- .Values.transcoder.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vcs.claimName" -}}
{{- default (printf "%s-media" (include "vcs.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{- define "vcs.secretName" -}}
{{- default (include "vcs.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* Where the volume is mounted in every pod (the image's STORAGE_PATH default). */}}
{{- define "vcs.storagePath" -}}/var/www/video-compression/storage{{- end -}}

{{/* The controllers' internal port (progress from the transcoder pods, metrics, /healthz). */}}
{{- define "vcs.internalPort" -}}3001{{- end -}}
{{- define "vcs.httpPort" -}}3000{{- end -}}

{{/* A value as the text of an environment variable: a string as it is, a number or a boolean as
     JSON. Helm reads every number in values as a float64, which toString and quote print in
     exponent form from a million up (3600000 → "3.6e+06"); the service's integer settings refuse
     that, JSON keeps the digits. */}}
{{- define "vcs.envText" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/* Environment both the controller and the gateway get (beside the ConfigMap and the Secret). */}}
{{- define "vcs.commonEnv" -}}
- name: STORE
  value: appwrite
- name: STORAGE_PATH
  value: {{ include "vcs.storagePath" . | quote }}
- name: INTERNAL_PORT
  value: {{ include "vcs.internalPort" . | quote }}
- name: INTERNAL_BIND_ADDRESS
  value: "0.0.0.0"
{{- end -}}

{{- define "vcs.envFrom" -}}
- configMapRef:
    name: {{ include "vcs.fullname" . }}
- secretRef:
    name: {{ include "vcs.secretName" . }}
{{- end -}}

{{/* The volume and /tmp of a pod: {root, readOnly}. */}}
{{- define "vcs.volumeMounts" -}}
- name: media
  mountPath: {{ include "vcs.storagePath" .root }}
  {{- if .readOnly }}
  readOnly: true
  {{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "vcs.volumes" -}}
- name: media
  persistentVolumeClaim:
    claimName: {{ include "vcs.claimName" . }}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{/* A map as TRANSCODER_NODE_SELECTOR's pairs: a=b,c=d (sorted). */}}
{{- define "vcs.labelPairs" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $k (toString $v)) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The labels the controller puts on its Jobs' pods (src/controller/job-manifest.ts instanceLabels). */}}
{{- define "vcs.transcoderLabels" -}}
app.kubernetes.io/name: video-compression
app.kubernetes.io/instance: {{ include "vcs.instance" . }}
app.kubernetes.io/component: transcoder
{{- end -}}

{{/* Whether an optional monitoring object is rendered: {enabled, api, root}; null enabled = when the cluster serves the API. */}}
{{- define "vcs.monitoringEnabled" -}}
{{- if kindIs "invalid" .enabled -}}
{{- if .root.Capabilities.APIVersions.Has .api -}}true{{- end -}}
{{- else if .enabled -}}true{{- end -}}
{{- end -}}

/**
 * Rendered Kubernetes objects checked against the OpenAPI schemas of Kubernetes
 * (`kubernetes-models`) and of the Prometheus Operator's resources
 * (`@kubernetes-models/prometheus-operator`), offline: types, enums, required fields and formats.
 * Known gap: these schemas allow fields they do not declare, so a misspelt or misplaced field
 * passes (the API server would drop it or, with strict field validation, refuse it).
 */
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as kubernetes from 'kubernetes-models';
import type { K8sObject } from './helm.ts';

/** A model class of kubernetes-models: its static apiVersion and kind, and an AJV validator behind validate(). */
interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: object): { validate(): void };
}

/** An AJV error, as validate() throws them in `err.errors`. */
interface SchemaError {
  instancePath: string;
  message?: string;
  params?: { allowedValues?: unknown[] };
}

const key = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && typeof (value as Partial<ModelClass>).apiVersion === 'string' && typeof (value as Partial<ModelClass>).kind === 'string';
}

/**
 * The packages export one namespace per API group and one per version inside it
 * (`kubernetes.batch.v1.Job`, `kubernetes.v1.Pod` for the core group,
 * `prometheusOperator.monitoringCoreosCom.v1.ServiceMonitor`): three levels at most.
 */
function collectModels(namespace: object, models: Map<string, ModelClass>, depth = 1): Map<string, ModelClass> {
  for (const value of Object.values(namespace)) {
    if (isModelClass(value)) models.set(key(value.apiVersion, value.kind), value);
    else if (value && typeof value === 'object' && depth < 3) collectModels(value, models, depth + 1);
  }
  return models;
}

/** apiVersion/kind (`batch/v1/Job`) → its model class; read-only once built. */
const MODELS: ReadonlyMap<string, ModelClass> = collectModels(prometheusOperator, collectModels(kubernetes, new Map()));

/** Whether `apiVersion`/`kind` has a schema here. */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return MODELS.has(key(apiVersion, kind));
}

function describe(error: SchemaError): string {
  const allowed = error.params?.allowedValues;
  return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}${allowed ? ` (${allowed.map((v) => JSON.stringify(v)).join(', ')})` : ''}`;
}

/**
 * Problems with `objects`, one line each (`Job/vcs-cleanup: /spec/backoffLimit must be integer`);
 * empty when all are valid. An object whose kind has no schema is a problem, unless its
 * `apiVersion/kind` (`example.com/v1/Widget`) is in `allowUnknown`.
 */
export function validateObjects(objects: K8sObject[], allowUnknown: string[] = []): string[] {
  const problems: string[] = [];
  for (const object of objects as unknown[]) {
    if (!object || typeof object !== 'object' || Array.isArray(object)) {
      problems.push(`not an object: ${JSON.stringify(object)}`);
      continue;
    }
    const { apiVersion, kind, metadata } = object as Partial<K8sObject>;
    const name = `${kind ?? '(no kind)'}/${metadata?.name ?? '(no name)'}`;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
      problems.push(`${name}: apiVersion and kind must be strings`);
      continue;
    }
    const Model = MODELS.get(key(apiVersion, kind));
    if (!Model) {
      if (!allowUnknown.includes(key(apiVersion, kind))) problems.push(`${name}: no schema for ${key(apiVersion, kind)}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (err) {
      const errors = (err as { errors?: SchemaError[] }).errors;
      if (!errors) throw err;
      // AJV may report one fault once per branch of the schema that reaches it.
      problems.push(...new Set(errors.map((e) => `${name}: ${describe(e)}`)));
    }
  }
  return problems;
}

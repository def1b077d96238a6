/**
 * The object store behind the fake Kubernetes API server (kube-api-server.ts): one global
 * resourceVersion counter bumped by every write, the event history watches replay from, label
 * selectors, merge and JSON patches, Job defaults, and in-process subscriptions for the simulated
 * job controller and kubelet (kube-cluster.ts). Shapes follow docs/protocols/kubernetes-api.md §3.
 */
import { randomUUID } from 'node:crypto';

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: any;
  status?: any;
  [k: string]: unknown;
};

export interface ResourceType {
  plural: string;
  group: string;
  apiVersion: string;
  kind: string;
  listKind: string;
}

export const RESOURCES: Record<string, ResourceType> = {
  jobs: { plural: 'jobs', group: 'batch', apiVersion: 'batch/v1', kind: 'Job', listKind: 'JobList' },
  pods: { plural: 'pods', group: '', apiVersion: 'v1', kind: 'Pod', listKind: 'PodList' },
  leases: { plural: 'leases', group: 'coordination.k8s.io', apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', listKind: 'LeaseList' },
  events: { plural: 'events', group: '', apiVersion: 'v1', kind: 'Event', listKind: 'EventList' },
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  type: EventType;
  resource: string;
  namespace: string;
  /** The object after the change (the final state for DELETED). */
  object: Obj;
  /** The object before the change (MODIFIED, DELETED). */
  old?: Obj;
}

/** A Status failure: `throw new StatusError(…)` anywhere; the server writes it as the reply. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  body() {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

const groupPlural = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);
export const notFound = (t: ResourceType, name: string) =>
  new StatusError(404, 'NotFound', `${groupPlural(t)} "${name}" not found`, { name, group: t.group, kind: t.plural });
const alreadyExists = (t: ResourceType, name: string) =>
  new StatusError(409, 'AlreadyExists', `${groupPlural(t)} "${name}" already exists`, { name, group: t.group, kind: t.plural });
const conflict = (t: ResourceType, name: string) =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${groupPlural(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
    name,
    group: t.group,
    kind: t.plural,
  });

/** RFC 1123 subdomain; Jobs also label their pods with the name, so ≤ 63. */
function checkName(t: ResourceType, name: unknown): void {
  const ok = typeof name === 'string' && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) && name.length <= (t.plural === 'jobs' ? 63 : 253);
  if (ok) return;
  const msg = `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  throw new StatusError(422, 'Invalid', `${t.kind}.${t.group || 'core'} ${JSON.stringify(name)} is invalid: metadata.name: ${msg}`, {
    name,
    group: t.group,
    kind: t.kind,
    causes: [{ reason: 'FieldValueInvalid', message: msg, field: 'metadata.name' }],
  });
}

// ------------------------------------------------------------------------------------------------
// Label selectors: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b); comma = AND.

type Requirement = (labels: Record<string, string>) => boolean;

export function parseSelector(text: string | null | undefined): Requirement {
  if (!text) return () => true;
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const reqs: Requirement[] = parts.map((raw) => {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, key, op, list] = m;
      const values = list!.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => l[key!] !== undefined && values.includes(l[key!]!) : (l) => l[key!] === undefined || !values.includes(l[key!]!);
    }
    if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(p))) return (l) => l[m![1]!] !== m![2];
    if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(p))) return (l) => l[m![1]!] === m![2];
    if ((m = /^!(\S+)$/.exec(p))) return (l) => l[m![1]!] === undefined;
    if ((m = /^(\S+)$/.exec(p))) return (l) => l[m![1]!] !== undefined;
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${p}`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

// ------------------------------------------------------------------------------------------------
// Patches

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: any, patch: any): any {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch (add, remove, replace, test). */
export function jsonPatch(doc: any, ops: { op: string; path: string; value?: unknown }[]): any {
  const out = structuredClone(doc);
  for (const { op, path, value } of ops) {
    const keys = path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) throw new StatusError(422, 'Invalid', `invalid JSON patch path ${path}`);
    let parent = out;
    for (const k of keys) {
      parent = parent?.[k];
      if (parent === undefined) throw new StatusError(422, 'Invalid', `JSON patch: path ${path} does not exist`);
    }
    const index = Array.isArray(parent) ? (last === '-' ? parent.length : Number(last)) : last;
    if (op === 'add') {
      if (Array.isArray(parent)) parent.splice(index as number, 0, value);
      else parent[index] = value;
    } else if (op === 'replace') {
      if (!(index in parent)) throw new StatusError(422, 'Invalid', `JSON patch: replace of missing ${path}`);
      parent[index] = value;
    } else if (op === 'remove') {
      if (!(index in parent)) throw new StatusError(422, 'Invalid', `JSON patch: remove of missing ${path}`);
      if (Array.isArray(parent)) parent.splice(index as number, 1);
      else delete parent[index];
    } else if (op === 'test') {
      if (JSON.stringify(parent[index]) !== JSON.stringify(value)) throw new StatusError(422, 'Invalid', `JSON patch: test failed at ${path}`);
    } else throw new StatusError(422, 'Invalid', `JSON patch: unsupported op ${op}`);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The store

const rfc3339 = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The API server's checks on the Indexed Job fields (batch validation, 1.33): the per-index
 * back-off belongs to Indexed Jobs, and maxFailedIndexes and the FailIndex action need it.
 */
function validateJob(job: Obj): void {
  const spec = job.spec ?? {};
  const indexed = spec.completionMode === 'Indexed';
  const causes: { reason: string; message: string; field: string }[] = [];
  const invalid = (field: string, value: unknown, detail: string) => causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field });
  if (!indexed && spec.backoffLimitPerIndex != null) invalid('spec.backoffLimitPerIndex', spec.backoffLimitPerIndex, 'requires indexed completion mode');
  if (!indexed && spec.maxFailedIndexes != null) invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, 'requires indexed completion mode');
  if (spec.maxFailedIndexes != null && spec.backoffLimitPerIndex == null) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: when maxFailedIndexes is specified', field: 'spec.backoffLimitPerIndex' });
  }
  if (indexed && spec.maxFailedIndexes != null && spec.maxFailedIndexes > (spec.completions ?? 1)) invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, 'must be less than or equal to completions');
  for (const [i, rule] of ((spec.podFailurePolicy?.rules ?? []) as { action?: string }[]).entries()) {
    if (rule.action === 'FailIndex' && spec.backoffLimitPerIndex == null) invalid(`spec.podFailurePolicy.rules[${i}].action`, rule.action, 'requires the backoffLimitPerIndex to be set');
  }
  if (!causes.length) return;
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const name = job.metadata.name;
  throw new StatusError(422, 'Invalid', `Job.batch ${JSON.stringify(name)} is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`, { name, group: 'batch', kind: 'Job', causes });
}

/** Server-side defaults of a created Job (docs/protocols/kubernetes-api.md §5). */
function defaultJob(job: Obj): void {
  const uid = job.metadata.uid!;
  // With a per-index limit, the Job-wide backoffLimit is effectively off (math.MaxInt32).
  const backoffLimit = job.spec?.backoffLimitPerIndex != null ? 2147483647 : 6;
  job.spec = { completions: 1, parallelism: 1, backoffLimit, completionMode: 'NonIndexed', suspend: false, ...job.spec };
  if (job.spec.podFailurePolicy) job.spec.podReplacementPolicy = 'Failed';
  job.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const template = (job.spec.template ??= {});
  template.metadata ??= {};
  template.metadata.labels = {
    ...template.metadata.labels,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': job.metadata.name,
    'controller-uid': uid,
    'job-name': job.metadata.name,
  };
}

export class ObjectStore {
  private rv = 1000;
  private objects = new Map<string, Obj>();
  history: Change[] = [];
  /** Watches asking to resume from before this resourceVersion get 410 Expired. */
  oldestRv = 0;
  private listeners = new Set<(c: Change) => void>();

  currentRv(): number {
    return this.rv;
  }

  private key = (resource: string, ns: string, name: string) => `${resource}/${ns}/${name}`;

  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(type: EventType, resource: string, namespace: string, object: Obj, old?: Obj): void {
    const change: Change = { rv: this.rv, type, resource, namespace, object: structuredClone(object), old };
    this.history.push(change);
    if (this.history.length > 5000) this.history.splice(0, 1000);
    for (const fn of this.listeners) fn(change);
  }

  /** Forgets the history (as etcd's compaction): a watch resuming from before the current version gets 410. */
  compact(): void {
    this.oldestRv = this.rv;
    this.history = [];
  }

  get(resource: string, ns: string, name: string): Obj | undefined {
    const o = this.objects.get(this.key(resource, ns, name));
    return o && structuredClone(o);
  }

  mustGet(resource: string, ns: string, name: string): Obj {
    const o = this.get(resource, ns, name);
    if (!o) throw notFound(RESOURCES[resource]!, name);
    return o;
  }

  list(resource: string, ns: string | undefined, selector?: string | null): Obj[] {
    const match = parseSelector(selector);
    return [...this.objects.values()]
      .filter((o) => o.kind === RESOURCES[resource]!.kind && (ns === undefined || o.metadata.namespace === ns) && match(o.metadata.labels ?? {}))
      .map((o) => structuredClone(o));
  }

  create(resource: string, ns: string, body: Obj): Obj {
    const t = RESOURCES[resource]!;
    checkName(t, body?.metadata?.name);
    if (resource === 'jobs') validateJob(body);
    if (this.objects.has(this.key(resource, ns, body.metadata.name))) throw alreadyExists(t, body.metadata.name);
    this.rv++;
    const obj: Obj = {
      ...structuredClone(body),
      apiVersion: t.apiVersion,
      kind: t.kind,
      metadata: {
        ...structuredClone(body.metadata),
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: String(this.rv),
        creationTimestamp: rfc3339(),
        generation: 1,
      },
    };
    delete obj.metadata.generateName;
    if (resource === 'jobs') {
      defaultJob(obj);
      obj.status = {};
    }
    this.objects.set(this.key(resource, ns, obj.metadata.name), obj);
    this.emit('ADDED', resource, ns, obj);
    return structuredClone(obj);
  }

  /**
   * Writes `next` over the stored object: a `resourceVersion` in `next` is a precondition (409);
   * the main resource keeps the stored status, `/status` keeps everything but the status.
   */
  replace(resource: string, ns: string, name: string, next: Obj, sub: 'main' | 'status' = 'main'): Obj {
    const t = RESOURCES[resource]!;
    const old = this.objects.get(this.key(resource, ns, name));
    if (!old) throw notFound(t, name);
    const pre = next?.metadata?.resourceVersion;
    if (pre !== undefined && pre !== '' && pre !== old.metadata.resourceVersion) throw conflict(t, name);
    this.rv++;
    const obj: Obj =
      sub === 'status'
        ? { ...structuredClone(old), status: structuredClone(next.status) }
        : { ...structuredClone(next), apiVersion: t.apiVersion, kind: t.kind, status: structuredClone(old.status), metadata: { ...structuredClone(next.metadata), name, namespace: ns, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp } };
    if (sub === 'main' && JSON.stringify(next.spec) !== JSON.stringify(old.spec)) obj.metadata.generation = ((old.metadata.generation as number) ?? 1) + 1;
    obj.metadata.resourceVersion = String(this.rv);
    this.objects.set(this.key(resource, ns, name), obj);
    this.emit('MODIFIED', resource, ns, obj, structuredClone(old));
    return structuredClone(obj);
  }

  /** In-process write (the simulated cluster): `change` edits a copy, which is then stored. */
  update(resource: string, ns: string, name: string, change: (o: Obj) => void, sub: 'main' | 'status' = 'main'): Obj | undefined {
    const current = this.get(resource, ns, name);
    if (!current) return undefined;
    change(current);
    return this.replace(resource, ns, name, current, sub);
  }

  delete(resource: string, ns: string, name: string): Obj {
    const t = RESOURCES[resource]!;
    const k = this.key(resource, ns, name);
    const old = this.objects.get(k);
    if (!old) throw notFound(t, name);
    this.objects.delete(k);
    this.rv++;
    const final = { ...structuredClone(old), metadata: { ...structuredClone(old.metadata), resourceVersion: String(this.rv) } };
    this.emit('DELETED', resource, ns, final, structuredClone(old));
    return final;
  }
}

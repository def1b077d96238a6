/**
 * The chart as the tests use it: rendered objects, the controller's Role, and the environment a
 * rendered container gets (env literals, fieldRefs, and the ConfigMap and Secret it loads).
 */
import { helmTemplate, type K8sObject } from './helm.ts';
import type { PolicyRule } from './kube-rbac.ts';

export const RELEASE = 'vcs';
/** <release>-<chart name>: the prefix of every object the chart names. */
export const FULLNAME = 'vcs-video-compression';

export async function renderChart(namespace: string, values: object = {}): Promise<K8sObject[]> {
  return helmTemplate({ release: RELEASE, namespace, values });
}

/** The one object of `kind` named `name` (throws, listing what there is, when there is none or several). */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

/** A Secret's values, from data (base64) and stringData as the API server merges them. */
export const secretData = (secret: K8sObject): Record<string, string> => ({
  ...Object.fromEntries(Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
  ...(secret.stringData ?? {}),
});

/** The rules of the controller's Role, and the Lease name its resourceNames allow. */
export function controllerRole(objects: K8sObject[]): { rules: PolicyRule[]; leaseName: string } {
  const rules = find(objects, 'Role', `${FULLNAME}-controller`).rules as PolicyRule[];
  const leaseRule = rules.find((r) => r.resources.includes('leases') && r.resourceNames?.length);
  if (!leaseRule) throw new Error('the controller Role names no Lease');
  return { rules, leaseName: leaseRule.resourceNames![0]! };
}

/**
 * The environment the first container of `deployment` starts with, as the kubelet builds it:
 * envFrom (ConfigMap, then Secret) first, then env[] over it, with the downward API resolved for
 * `pod`. `extra` holds objects made outside the chart (an existing Secret).
 */
export function containerEnv(deployment: K8sObject, objects: K8sObject[], pod: { namespace: string; name: string }, extra: K8sObject[] = []): Record<string, string> {
  const all = [...objects, ...extra];
  const container = deployment.spec.template.spec.containers[0];
  const fields: Record<string, string> = { 'metadata.namespace': pod.namespace, 'metadata.name': pod.name };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(all, 'ConfigMap', from.configMapRef.name).data ?? {});
    else if (from.secretRef) Object.assign(env, secretData(find(all, 'Secret', from.secretRef.name)));
    else throw new Error(`${deployment.metadata.name}: envFrom ${JSON.stringify(from)} is neither a ConfigMap nor a Secret`);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      const field = fields[e.valueFrom.fieldRef?.fieldPath];
      if (field === undefined) throw new Error(`${deployment.metadata.name}: ${e.name} comes from ${JSON.stringify(e.valueFrom)}, which the tests do not resolve`);
      env[e.name] = field;
    } else env[e.name] = e.value ?? '';
  }
  return env;
}

/**
 * The Kubernetes API clients of `vcs controller` (@kubernetes/client-node 1.4, pinned: 2.x needs
 * Node >= 22.19, see docs/protocols/kubernetes-api.md §1) and how their errors read.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ApiException, BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { ConfigError, type Settings } from '../config.ts';

export interface KubeClients {
  config: KubeConfig;
  /** Where the Jobs live. */
  namespace: string;
  batch: BatchV1Api;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  watch: Watch;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const NO_CLUSTER = 'no cluster configured: set KUBECONFIG to a kubeconfig file, or run vcs controller in a pod (its service account is used)';

/**
 * KUBECONFIG when set; else the pod's service account; else ~/.kube/config. What cannot work is a
 * ConfigError naming the variable, not a bare ENOENT or the client's "http://localhost:8080"
 * fallback failing every two seconds.
 */
export function loadKubeConfig(settings: Pick<Settings, 'KUBECONFIG'>, home = homedir()): KubeConfig {
  const config = new KubeConfig();
  if (settings.KUBECONFIG) {
    if (!existsSync(settings.KUBECONFIG)) throw new ConfigError([`KUBECONFIG=${settings.KUBECONFIG}: no such file (point it at a kubeconfig file, or unset it in a pod to use its service account)`]);
    try {
      config.loadFromFile(settings.KUBECONFIG);
    } catch (err) {
      throw new ConfigError([`KUBECONFIG=${settings.KUBECONFIG}: not a kubeconfig file (${(err as Error).message.split('\n')[0]})`]);
    }
  } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) config.loadFromCluster();
  else if (existsSync(path.join(home, '.kube', 'config'))) config.loadFromFile(path.join(home, '.kube', 'config'));
  else throw new ConfigError([NO_CLUSTER]);
  if (!config.getCurrentCluster()) throw new ConfigError([`${settings.KUBECONFIG ? `KUBECONFIG=${settings.KUBECONFIG}` : '~/.kube/config'}: its current context names no cluster (set current-context)`]);
  return config;
}

export function kubeClients(settings: Pick<Settings, 'KUBECONFIG' | 'KUBE_NAMESPACE'>): KubeClients {
  const config = loadKubeConfig(settings);
  const context = config.getContextObject(config.getCurrentContext());
  const namespace = settings.KUBE_NAMESPACE ?? context?.namespace ?? 'default';
  return {
    config,
    namespace,
    batch: config.makeApiClient(BatchV1Api),
    core: config.makeApiClient(CoreV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    watch: new Watch(config),
  };
}

/** The HTTP status of a failed API call; undefined when no answer came (network, timeout). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The Status `reason` of a failed API call (AlreadyExists, Conflict, NotFound…). */
export function apiReason(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  try {
    return (JSON.parse(String(err.body)) as { reason?: string }).reason;
  } catch {
    return undefined;
  }
}

/** No answer, or one that says "try later" (5xx, 429): the API server is out of reach for now. */
export function isUnavailable(err: unknown): boolean {
  const code = apiStatus(err);
  return code === undefined || code >= 500 || code === 429 || code === 408;
}

/** A short description for logs and messages (ApiException's own message repeats the body). */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    let message = '';
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? '';
    } catch {
      message = String(err.body ?? '').slice(0, 200);
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

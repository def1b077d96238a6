/**
 * A namespaced RBAC Role as the Kubernetes API server enforces it, for the fake API server's
 * `rbac` option (kube-api-server.ts; what the controller needs: docs/protocols/kubernetes-api.md §8):
 * the request's attributes derived as the server's RequestInfoFactory derives them, the rule
 * matching of the RBAC authorizer (`*`, a `*` resource with a subresource, resourceNames), the 403 Status the
 * server answers a denied request with, and an audit of which expansions of the rules were used.
 */
import { StatusError } from './kube-objects.ts';

/** A rule of a `rbac.authorization.k8s.io/v1` Role. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface RbacOptions {
  rules: PolicyRule[];
  /** Whom the Status messages name; default `system:serviceaccount:<namespace>:test`. */
  user?: string;
  /** The Role's namespace: it grants nothing elsewhere. Unset, it applies in every namespace. */
  namespace?: string;
}

/** A request path `/api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]]` or `/apis/<group>/<version>/…`, split. */
export interface ResourcePath {
  group: string;
  namespace: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** What RBAC decides on; `resource` is `<plural>` or `<plural>/<subresource>`. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  name?: string;
  namespace: string;
}

/** One (apiGroup, resource, verb, resourceName) of a rule, `*` kept as written. */
export interface RuleExpansion {
  /** Index of the rule in `rules`. */
  rule: number;
  apiGroup: string;
  resource: string;
  verb: string;
  resourceName?: string;
}

export interface RbacReport {
  denied: RequestAttributes[];
  /** Expansions no allowed request matched. */
  unusedRules: RuleExpansion[];
}

export interface RoleAuthorizer {
  /** The 403 to answer with, or undefined when a rule allows the request (recorded for the report). */
  authorize(attrs: RequestAttributes): StatusError | undefined;
  report(): RbacReport;
}

const VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** A query flag as the server decodes a bool: absent, `false` or `0` is false, anything else true. */
const flag = (query: URLSearchParams, key: string) => {
  const v = query.get(key);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
};

/**
 * The verb and names of a request, as RequestInfoFactory sees them: a nameless get is a list (a
 * watch with `watch=true`), a nameless delete a deletecollection; a list or watch names the object
 * its `metadata.name=` field selector requires, so resourceNames can allow it; other methods have
 * the verb '' (only `*` matches it).
 */
export function requestAttributes(method: string, path: ResourcePath, query: URLSearchParams): RequestAttributes {
  let verb = VERBS[method] ?? '';
  let name = path.name;
  if (!name && verb === 'get') {
    verb = flag(query, 'watch') ? 'watch' : 'list';
    const terms = (query.get('fieldSelector') ?? '').split(',');
    name = terms.map((t) => /^metadata\.name==?([^/]+)$/.exec(t)?.[1]).find((n) => n && n !== '.' && n !== '..');
  }
  if (!name && verb === 'delete') verb = 'deletecollection';
  const resource = path.subresource ? `${path.resource}/${path.subresource}` : path.resource;
  return { verb, group: path.group, resource, ...(name ? { name } : {}), namespace: path.namespace };
}

/** The RBAC authorizer's test for one rule (rbac/v1 helpers: VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches). */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const sub = attrs.resource.split('/')[1];
  const resourceMatches = (r: string) => r === '*' || r === attrs.resource || (sub !== undefined && r === `*/${sub}`);
  return (
    (rule.verbs.includes('*') || rule.verbs.includes(attrs.verb)) &&
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(attrs.group)) &&
    rule.resources.some(resourceMatches) &&
    (!rule.resourceNames?.length || (attrs.name !== undefined && rule.resourceNames.includes(attrs.name)))
  );
}

export function expandRules(rules: PolicyRule[]): RuleExpansion[] {
  return rules.flatMap((r, rule) =>
    r.apiGroups.flatMap((apiGroup) =>
      r.resources.flatMap((resource) =>
        r.verbs.flatMap((verb) => (r.resourceNames?.length ? r.resourceNames.map((resourceName) => ({ rule, apiGroup, resource, verb, resourceName })) : [{ rule, apiGroup, resource, verb }])),
      ),
    ),
  );
}

/** The server's own escaping of the "User … cannot …" part (responsewriters.Forbidden). */
const sanitize = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The Status the API server sends when no rule allows the request (apierrors.NewForbidden). */
export function forbidden(attrs: RequestAttributes, user: string): StatusError {
  const plural = attrs.resource.split('/')[0]!;
  const qualified = attrs.group ? `${plural}.${attrs.group}` : plural;
  const who = sanitize(`User ${JSON.stringify(user)} cannot ${attrs.verb} resource ${JSON.stringify(attrs.resource)} in API group ${JSON.stringify(attrs.group)} in the namespace ${JSON.stringify(attrs.namespace)}`);
  const what = attrs.name ? `${qualified} ${JSON.stringify(attrs.name)}` : qualified;
  // StatusDetails fields are omitempty: the core group and a collection's name are left out.
  const details = { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.group ? { group: attrs.group } : {}), kind: plural };
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${who}`, details);
}

export function createRoleAuthorizer(opts: RbacOptions): RoleAuthorizer {
  const expansions = expandRules(opts.rules).map((e) => ({ e, rule: { apiGroups: [e.apiGroup], resources: [e.resource], verbs: [e.verb], resourceNames: e.resourceName === undefined ? undefined : [e.resourceName] }, used: false }));
  const denied: RequestAttributes[] = [];
  return {
    authorize(attrs) {
      const inScope = opts.namespace === undefined || opts.namespace === attrs.namespace;
      if (inScope && opts.rules.some((r) => ruleAllows(r, attrs))) {
        for (const x of expansions) if (ruleAllows(x.rule, attrs)) x.used = true;
        return undefined;
      }
      denied.push(attrs);
      return forbidden(attrs, opts.user ?? `system:serviceaccount:${opts.namespace ?? attrs.namespace}:test`);
    },
    report: () => ({ denied: [...denied], unusedRules: expansions.filter((x) => !x.used).map((x) => x.e) }),
  };
}

/**
 * Who signs in to the admin dashboard with Google, through Appwrite (docs/protocols/appwrite.md §5),
 * server side: the gateway asks Appwrite for the OAuth2 token URL and sends the browser there;
 * Appwrite returns it to the gateway with `userId` and `secret`; the gateway turns those into an
 * Appwrite session (with the API key, which makes Appwrite return the session's secret), reads the
 * account with it, ends that Appwrite session (the dashboard keeps its own), and decides: an admin
 * is an account whose e-mail is in ADMIN_EMAILS, or that carries the `admin` label, or that is a
 * confirmed member of the team ADMIN_TEAM_ID.
 */
import { Account, AppwriteException, OAuthProvider, Query, Teams } from 'node-appwrite';
import { appwriteClient, appwriteGuestClient, type AppwriteConnection } from './api.ts';

export interface AdminRule {
  emails: readonly string[];
  teamId?: string;
}

export interface Identity {
  id: string;
  email: string;
  name: string;
  admin: boolean;
  /** Why the account is (or is not) an admin, for the log. */
  because: string;
}

export interface AppwriteIdentity {
  /** Where to send the browser: the provider's sign-in, which comes back to `success` or `failure`. */
  signInUrl(success: string, failure: string): Promise<string>;
  identify(userId: string, secret: string): Promise<Identity>;
}

export const ADMIN_LABEL = 'admin';

export function appwriteIdentity(conn: AppwriteConnection, rule: AdminRule): AppwriteIdentity {
  const emails = new Set(rule.emails.map((e) => e.toLowerCase()));
  return {
    signInUrl: (success, failure) => new Account(appwriteGuestClient(conn)).createOAuth2Token({ provider: OAuthProvider.Google, success, failure }),

    async identify(userId, secret) {
      const session = await new Account(appwriteClient(conn)).createSession({ userId, secret });
      const mine = new Account(appwriteGuestClient(conn).setSession(session.secret));
      try {
        const me = await mine.get();
        const email = me.email.toLowerCase();
        const base = { id: me.$id, email: me.email, name: me.name };
        if (!me.status) return { ...base, admin: false, because: 'the account is blocked' };
        if (emails.has(email)) return { ...base, admin: true, because: 'ADMIN_EMAILS lists it' };
        if (me.labels.includes(ADMIN_LABEL)) return { ...base, admin: true, because: `it carries the "${ADMIN_LABEL}" label` };
        if (rule.teamId) {
          const { memberships } = await new Teams(appwriteClient(conn)).listMemberships({ teamId: rule.teamId, queries: [Query.equal('userId', [me.$id])] });
          if (memberships.some((m) => m.userId === me.$id && m.confirm)) return { ...base, admin: true, because: `it is a member of team ${rule.teamId}` };
        }
        return { ...base, admin: false, because: 'not in ADMIN_EMAILS, no admin label, not in ADMIN_TEAM_ID' };
      } finally {
        await mine.deleteSession({ sessionId: 'current' }).catch((err: unknown) => {
          if (!(err instanceof AppwriteException)) throw err;
        });
      }
    },
  };
}

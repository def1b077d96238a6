/** The Appwrite store and `vcs appwrite setup` pointed at a fake Appwrite server (appwrite-server.ts). */
import { Client, ID, TablesDB } from 'node-appwrite';
import type { ApiFamily, AppwriteConnection, AppwriteRow } from '../../src/jobs/appwrite/api.ts';
import { createAppwriteApi } from '../../src/jobs/appwrite/api.ts';
import { decodeRow } from '../../src/jobs/appwrite/codec.ts';
import type { RetryPolicy } from '../../src/jobs/appwrite/failures.ts';
import { setupAppwrite } from '../../src/jobs/appwrite/setup.ts';
import { createAppwriteStore, type AppwriteStoreOptions } from '../../src/jobs/appwrite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { FAMILIES, renderRow } from './appwrite/records.ts';
import type { FakeAppwrite } from './appwrite-server.ts';

export const IDS = { databaseId: 'video_compression', tableId: 'posts' };

/** Quick retries, so failure tests stay fast. */
export const QUICK_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 5, maxDelayMs: 20 };

export function connectionTo(server: FakeAppwrite, extra: Partial<AppwriteConnection> = {}): AppwriteConnection {
  return { endpoint: server.endpoint, projectId: server.projectId, apiKey: server.apiKey, timeoutMs: 2000, ...extra };
}

/** Runs the setup against `server`, quietly unless `say` is given. */
export async function setUpSchema(server: FakeAppwrite, family: ApiFamily, say: (line: string) => void = () => undefined) {
  return setupAppwrite(createAppwriteApi(connectionTo(server), family, IDS.databaseId), { ...IDS, say, retry: QUICK_RETRY, pollMs: 5 });
}

export function appwriteStore(server: FakeAppwrite, api: ApiFamily | 'auto', extra: Partial<AppwriteStoreOptions> = {}): JobStore {
  return createAppwriteStore({ connection: connectionTo(server), api, ...IDS, retry: QUICK_RETRY, ...extra });
}

/**
 * A row as the fake server holds it, decoded as the store would read it; read in-process, so it
 * works while the server is made to fail.
 */
export function heldRow(server: FakeAppwrite, wpPostId: number) {
  const table = server.databases.get(IDS.databaseId)?.tables.get(IDS.tableId);
  const row = table && [...table.rows.values()].find((r) => r.data.wp_post_id === wpPostId);
  return row && decodeRow(renderRow(FAMILIES.tablesdb, IDS.databaseId, table!, row) as AppwriteRow);
}

/** A document as the WordPress side writes it: four fields, nothing else. */
export function publish(server: FakeAppwrite, doc: { wp_post_id: number; title: string; original_video_url: string }) {
  const tables = new TablesDB(new Client().setEndpoint(server.endpoint).setProject(server.projectId).setKey(server.apiKey));
  return tables.createRow({ ...IDS, rowId: ID.unique(), data: { ...doc, compression_status: 'pending' } });
}

/** The settings of a `vcs serve` on the Appwrite store behind `server`. */
export function appwriteServeEnv(server: FakeAppwrite, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STORE: 'appwrite',
    APPWRITE_ENDPOINT: server.endpoint,
    APPWRITE_PROJECT_ID: server.projectId,
    APPWRITE_API_KEY: server.apiKey,
    DATABASE_ID: IDS.databaseId,
    COLLECTION_ID: IDS.tableId,
    // Sources come from a test server on this machine.
    ALLOW_PRIVATE_SOURCES: 'true',
    ...extra,
  };
}

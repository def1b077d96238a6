/**
 * What the gateway needs from the controller when one runs in the same process (`vcs serve`),
 * declared here in the gateway's own terms so the gateway never imports the controller. In the
 * cluster shape (`vcs gateway`) there is none: everything the API does goes through the store,
 * and the controller, in its own process, acts on it at its next pass.
 */

/** The controller loop as health and the dashboard show it. */
export interface WorkerState {
  status: string;
  lastRun: string | null;
  jobsProcessed: number;
}

export interface WorkerPort {
  status(): WorkerState;
  /** A controller pass soon (after the API queued, deleted or paused something). */
  poke(): void;
  /** The transcoder's last ETA for a video and when it came. */
  eta(videoId: number): { etaSeconds: number; at: number } | undefined;
  /** Resolves true once no run of the video runs any more, or false after `timeoutMs`. */
  waitForRunToStop(videoId: number, timeoutMs: number): Promise<boolean>;
  /** Job names of runs in flight: their work folders are spared by the cleanup. */
  activeRuns(): Promise<Set<string>>;
}

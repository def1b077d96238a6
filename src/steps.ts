/**
 * The steps a video goes through while it is processed (docs/adr/0013 `compression_step`), in order,
 * with the share of overall progress each one starts at. One decode feeds every rendition, so
 * there is one `compressing` step.
 */
export const STEPS = ['queued', 'downloading', 'probing', 'creating_poster', 'compressing', 'finalizing', 'completed'] as const;
export type Step = (typeof STEPS)[number];

/**
 * Overall progress (0–100) at which each step begins; the encode dominates the wall time
 * (the encode is most of a job, docs/adr/0001), so it gets the widest band.
 */
export const STEP_PROGRESS: Record<Step, { from: number; to: number }> = {
  queued: { from: 0, to: 0 },
  downloading: { from: 0, to: 15 },
  probing: { from: 15, to: 16 },
  creating_poster: { from: 16, to: 18 },
  compressing: { from: 18, to: 95 },
  finalizing: { from: 95, to: 99 },
  completed: { from: 100, to: 100 },
};

/** Overall progress for `fraction` (0–1) of `step`, rounded down so 100 means done. */
export function overallProgress(step: Step, fraction: number): number {
  const band = STEP_PROGRESS[step];
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return Math.floor(band.from + (band.to - band.from) * f);
}

export function isStep(value: unknown): value is Step {
  return typeof value === 'string' && (STEPS as readonly string[]).includes(value);
}

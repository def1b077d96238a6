/** What the API answers about a video, as the dashboard reads it. */

/** The fields GET /api/jobs rows and GET /api/post/:id share. */
export interface VideoBase {
  wp_post_id: number;
  title: string;
  status: string;
  step: string | null;
  progress: number;
  priority: string;
  created_at: string;
  completed_at: string | null;
  error_message: string | null;
}

/** A row of GET /api/jobs. */
export interface Job extends VideoBase {
  master_playlist_url: string | null;
  poster_url: string | null;
}

/** GET /api/post/:id */
export interface Post extends VideoBase {
  started_at: string | null;
  urls: Record<string, string | null> | null;
  total_size: number | null;
  duration_seconds: number | null;
  failed_at_step: string | null;
  failed_at: string | null;
  retry_count: number;
  last_accessed_at: string | null;
}

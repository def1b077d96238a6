/**
 * Playback URLs of a published package (docs/adr/0013, 0004): absolute, from PUBLIC_URL, under
 * /storage/hls/{wp_post_id}/. Pure.
 */
import type { VideoJob } from './model.ts';

export const HLS_ROUTE = '/storage/hls';

export type PackageUrls = Pick<VideoJob, 'master_playlist_url' | 'poster_url' | 'hls_high_url' | 'hls_medium_url' | 'hls_low_url'>;

/** `output`: the renditions a transcode produced (the job contract's TranscodeOutput fits). */
export function packageUrls(publicUrl: string, videoId: number, output: { renditions: readonly { name: string }[] }): PackageUrls {
  const base = `${publicUrl.replace(/\/+$/, '')}${HLS_ROUTE}/${videoId}`;
  const rendition = (name: string) => (output.renditions.some((r) => r.name === name) ? `${base}/${name}/playlist.m3u8` : null);
  return {
    master_playlist_url: `${base}/master.m3u8`,
    poster_url: `${base}/poster.jpg`,
    hls_high_url: rendition('high'),
    hls_medium_url: rendition('medium'),
    hls_low_url: rendition('low'),
  };
}

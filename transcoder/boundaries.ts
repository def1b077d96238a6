/**
 * The self-check's boundary rules (pure; docs/adr/0004, 0022), over every packet of one rendition
 * as read from its segments joined end to end: each segment starts on a keyframe, the video and the
 * audio run on from one segment into the next without a gap or an overlap of more than one frame,
 * and the whole lasts as long as the source. A package encoded in chunks is where these could
 * break (a chunk cut or timestamped wrongly); every package is held to them.
 */

export interface Packet {
  kind: 'video' | 'audio';
  /** Presentation time in seconds. */
  pts: number;
  /** Seconds; 0 when the container does not say (the frame rate then gives it). */
  duration: number;
  key: boolean;
  /** Byte offset in the joined segments: which segment the packet came from. */
  pos: number;
}

export interface BoundaryInput {
  rendition: string;
  /** The segments' file names and sizes in bytes, in playlist order. */
  segments: readonly { uri: string; bytes: number }[];
  packets: readonly Packet[];
  /** Output frame rate: a picture's duration when the packets do not carry one. */
  frameRate: number;
  sourceSeconds: number;
}

/**
 * How far the package's length may be from the source's: the ends of video and audio in a camera
 * file differ by this much without being padded (ladder.ts STREAM_END_SLACK), plus a picture.
 */
export const lengthTolerance = (frameRate: number): number => 0.1 + 1 / frameRate;

/** A millisecond for the rounding of timestamps to the 90 kHz clock and to text. */
const ROUNDING = 0.001;

interface Span {
  start: number;
  end: number;
  /** The first packet in the segment's bytes (decode order). */
  first: Packet;
  /** The longest packet: the tolerance at this span's boundaries. */
  frame: number;
}

/**
 * The packets of each segment, by byte position in the joined segments. Looked up one by one: the
 * demuxer hands out packets in the order their streams complete them, not in file order (at 1 fps
 * an audio packet from the next segment comes before the last picture of this one).
 */
function bySegment(input: BoundaryInput): Packet[][] {
  const out: Packet[][] = input.segments.map(() => []);
  const starts: number[] = [];
  let offset = 0;
  for (const s of input.segments) {
    starts.push(offset);
    offset += s.bytes;
  }
  for (const p of input.packets) {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= p.pos) lo = mid;
      else hi = mid - 1;
    }
    out[lo]?.push(p);
  }
  return out;
}

function spans(segments: Packet[][], kind: Packet['kind'], frameRate: number): (Span | null)[] {
  return segments.map((packets) => {
    let span: Span | null = null;
    for (const p of packets) {
      if (p.kind !== kind) continue;
      const length = p.duration > 0 ? p.duration : 1 / frameRate;
      if (!span) span = { start: p.pts, end: p.pts + length, first: p, frame: length };
      else {
        span.start = Math.min(span.start, p.pts);
        span.end = Math.max(span.end, p.pts + length);
        span.frame = Math.max(span.frame, length);
        if (p.pos < span.first.pos) span.first = p;
      }
    }
    return span;
  });
}

/** The first rule each boundary breaks, as "rendition/segment: what", or [] when all hold. */
export function boundaryProblems(input: BoundaryInput): string[] {
  const problems: string[] = [];
  const where = (i: number) => `${input.rendition}/${input.segments[i]!.uri}`;
  const segments = bySegment(input);
  const video = spans(segments, 'video', input.frameRate);
  const audio = spans(segments, 'audio', input.frameRate);
  video.forEach((v, i) => {
    if (!v) problems.push(`${where(i)} has no video`);
    else if (!v.first.key) problems.push(`${where(i)} does not start with a keyframe`);
  });
  problems.push(...repeatedPictures(segments, input.frameRate, where));
  for (const [kind, list] of [['video', video], ['audio', audio]] as const) {
    let previous: Span | null = null;
    list.forEach((span, i) => {
      if (!span) return;
      if (previous) {
        const step = span.start - previous.end;
        const frame = Math.max(previous.frame, span.frame) + ROUNDING;
        if (step > frame) problems.push(`${where(i)}: ${kind} starts ${step.toFixed(3)} s after the previous segment's ends (a gap)`);
        if (step < -frame) problems.push(`${where(i)}: ${kind} starts ${(-step).toFixed(3)} s before the previous segment's ends (an overlap)`);
      }
      previous = span;
    });
  }
  const present = [...video, ...audio].filter((s): s is Span => s !== null);
  if (present.length > 0) {
    const length = Math.max(...present.map((s) => s.end)) - Math.min(...present.map((s) => s.start));
    if (Math.abs(length - input.sourceSeconds) > lengthTolerance(input.frameRate)) {
      problems.push(`${input.rendition} lasts ${length.toFixed(3)} s, the source ${input.sourceSeconds.toFixed(3)} s`);
    }
  }
  return problems;
}

/**
 * Two pictures less than half a frame apart in one segment: the same instant encoded twice (two
 * chunks overlapping there, which the muxer smooths over so that no boundary shows it).
 */
function repeatedPictures(segments: Packet[][], frameRate: number, where: (i: number) => string): string[] {
  const half = 0.5 / frameRate;
  for (const [i, packets] of segments.entries()) {
    const sorted = packets.filter((p) => p.kind === 'video').map((p) => p.pts).sort((a, b) => a - b);
    const k = sorted.findIndex((t, j) => j > 0 && t - sorted[j - 1]! < half);
    if (k > 0) return [`${where(i)}: two pictures at ${sorted[k]!.toFixed(3)} s (an overlap)`];
  }
  return [];
}

/**
 * ffprobe's `-of compact` packet lines (codec_type, pts_time, duration_time, pos, flags) → packets.
 * The AAC parser gives a position to the first frame of each PES packet only (the muxer packs
 * several into one); the others came from the same PES, so they take the last position of their
 * stream.
 */
export function parsePacketLines(text: string): Packet[] {
  const packets: Packet[] = [];
  const lastPos: Record<Packet['kind'], number> = { video: 0, audio: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('packet|') && !line.includes('codec_type=')) continue;
    const fields = Object.fromEntries(line.split('|').map((kv) => kv.split('=') as [string, string]));
    const kind = fields.codec_type;
    const pts = Number(fields.pts_time);
    if ((kind !== 'video' && kind !== 'audio') || !Number.isFinite(pts)) continue;
    const duration = Number(fields.duration_time);
    const pos = Number(fields.pos);
    if (Number.isFinite(pos)) lastPos[kind] = pos;
    packets.push({ kind, pts, duration: Number.isFinite(duration) ? duration : 0, key: (fields.flags ?? '').startsWith('K'), pos: lastPos[kind] });
  }
  return packets;
}

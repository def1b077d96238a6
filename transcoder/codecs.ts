/**
 * RFC 6381 codec strings read from an encoded MPEG-TS segment itself, for the master playlist's
 * CODECS attribute: `avc1.PPCCLL` from the H.264 sequence parameter set (profile, constraint
 * flags, level bytes) and `mp4a.40.N` from the ADTS header (N = audio object type). Reading the
 * bytes, rather than mapping names from ffprobe, is exact even where x264 signals a different
 * profile than asked (ultrafast gives Constrained Baseline).
 */

const TS_PACKET = 188;
const STREAM_TYPE_H264 = 0x1b;
const STREAM_TYPE_AAC_ADTS = 0x0f;

interface TsPacket {
  pid: number;
  start: boolean;
  payload: Uint8Array;
}

function* packets(ts: Uint8Array): Generator<TsPacket> {
  for (let off = 0; off + TS_PACKET <= ts.length; off += TS_PACKET) {
    if (ts[off] !== 0x47) continue;
    const pid = ((ts[off + 1]! & 0x1f) << 8) | ts[off + 2]!;
    const start = (ts[off + 1]! & 0x40) !== 0;
    const afc = (ts[off + 3]! >> 4) & 0x3;
    if ((afc & 0x1) === 0) continue;
    const payloadStart = off + 4 + (afc & 0x2 ? 1 + ts[off + 4]! : 0);
    if (payloadStart >= off + TS_PACKET) continue;
    yield { pid, start, payload: ts.subarray(payloadStart, off + TS_PACKET) };
  }
}

/** PID of the first elementary stream of each wanted type, from the PAT and PMT. */
export function elementaryPids(ts: Uint8Array): Map<number, number> {
  let pmtPid = -1;
  const found = new Map<number, number>();
  for (const p of packets(ts)) {
    if (!p.start) continue;
    const section = p.payload.subarray(1 + p.payload[0]!);
    if (p.pid === 0 && pmtPid < 0) {
      // PAT: first program's PMT PID (skip program number 0, the network PID).
      const sectionLength = ((section[1]! & 0x0f) << 8) | section[2]!;
      for (let i = 8; i + 4 <= 3 + sectionLength - 4; i += 4) {
        const program = (section[i]! << 8) | section[i + 1]!;
        if (program !== 0) {
          pmtPid = ((section[i + 2]! & 0x1f) << 8) | section[i + 3]!;
          break;
        }
      }
    } else if (p.pid === pmtPid) {
      const sectionLength = ((section[1]! & 0x0f) << 8) | section[2]!;
      const programInfoLength = ((section[10]! & 0x0f) << 8) | section[11]!;
      const end = 3 + sectionLength - 4;
      for (let i = 12 + programInfoLength; i + 5 <= end; ) {
        const type = section[i]!;
        const pid = ((section[i + 1]! & 0x1f) << 8) | section[i + 2]!;
        const esInfoLength = ((section[i + 3]! & 0x0f) << 8) | section[i + 4]!;
        if (!found.has(type)) found.set(type, pid);
        i += 5 + esInfoLength;
      }
      return found;
    }
  }
  return found;
}

/** The elementary stream bytes of the first PES packet on `pid` (PES header removed). */
function firstPes(ts: Uint8Array, pid: number, limit = 256 * 1024): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const p of packets(ts)) {
    if (p.pid !== pid) continue;
    if (p.start && parts.length > 0) break;
    if (!p.start && parts.length === 0) continue;
    parts.push(p.payload);
    size += p.payload.length;
    if (size > limit) break;
  }
  if (parts.length === 0) return null;
  const pes = Buffer.concat(parts);
  if (pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) return null;
  return pes.subarray(9 + pes[8]!);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` from the first SPS (NAL type 7) of an Annex B byte stream. */
export function avcCodecFromAnnexB(es: Uint8Array): string | null {
  for (let i = 0; i + 6 < es.length; i++) {
    if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && (es[i + 3]! & 0x1f) === 7) {
      return `avc1.${hex2(es[i + 4]!)}${hex2(es[i + 5]!)}${hex2(es[i + 6]!)}`;
    }
  }
  return null;
}

/** `mp4a.40.N` from the first ADTS header (N = profile + 1; 2 is AAC-LC). */
export function aacCodecFromAdts(es: Uint8Array): string | null {
  for (let i = 0; i + 3 < es.length; i++) {
    if (es[i] === 0xff && (es[i + 1]! & 0xf6) === 0xf0) return `mp4a.40.${((es[i + 2]! >> 6) & 0x3) + 1}`;
  }
  return null;
}

/** The CODECS value of a segment: video first, then audio when the segment has it. */
export function segmentCodecs(ts: Uint8Array): { video: string | null; audio: string | null } {
  const pids = elementaryPids(ts);
  const videoPid = pids.get(STREAM_TYPE_H264);
  const audioPid = pids.get(STREAM_TYPE_AAC_ADTS);
  const videoEs = videoPid === undefined ? null : firstPes(ts, videoPid);
  const audioEs = audioPid === undefined ? null : firstPes(ts, audioPid);
  return {
    video: videoEs ? avcCodecFromAnnexB(videoEs) : null,
    audio: audioEs ? aacCodecFromAdts(audioEs) : null,
  };
}

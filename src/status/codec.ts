/**
 * Encodes a status document into the bytes and labels of its Swarm config, within the size
 * budget, and decodes one back. Pure (zlib in memory): no Swarm, no clock.
 *
 * Bounding: reasons and details are cut to `reasonLimit` characters, the history to
 * `historyLimit` syncs; when the gzip of the JSON is still over the budget, objects (apply
 * sets) or served routes (the route tier) are cut, Ready objects first, the kept number found by
 * bisection, and `truncated` says how many were left out. Counts always cover every object.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { TerminalError } from '../errors.js';
import {
  historyLimit,
  labelEncoding,
  labelFormat,
  labelSequence,
  labelStatusOf,
  labelWriter,
  labelWrittenAt,
  reasonLimit,
  statusApiVersion,
  statusBudgetBytes,
  statusFormatLabelValue,
  statusOfValue,
  type AppStatusDocument,
  type ObjectEntry,
  type RoutesStatusDocument,
  type StatusDocument,
} from './format.js';

export interface EncodedStatus {
  /** The config's data: gzip of the JSON. */
  data: Buffer;
  labels: Record<string, string>;
  /** The document as stored (cut if it had to be). */
  document: StatusDocument;
  /** Size of the JSON before compression. */
  jsonBytes: number;
}

const cut = (s: string, n = reasonLimit) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function gzipJson(d: StatusDocument): { data: Buffer; jsonBytes: number } {
  const json = Buffer.from(JSON.stringify(d), 'utf8');
  return { data: gzipSync(json, { level: 6 }), jsonBytes: json.length };
}

/** Readers sort by id; cutting keeps what needs attention. */
const attentionFirst = (a: ObjectEntry, b: ObjectEntry) =>
  Number(a.phase === 'Ready') - Number(b.phase === 'Ready') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function boundedApp(d: AppStatusDocument): { doc: AppStatusDocument; reasons: number } {
  let reasons = 0;
  const objects = d.objects.map((o) => {
    if (o.reason.length <= reasonLimit) return o;
    reasons++;
    return { ...o, reason: cut(o.reason) };
  });
  const history = d.history.slice(0, historyLimit).map((s) => ({ ...s, detail: cut(s.detail) }));
  return {
    doc: {
      ...d,
      objects,
      history,
      ...(d.lastSync ? { lastSync: { ...d.lastSync, detail: cut(d.lastSync.detail) } } : {}),
    },
    reasons,
  };
}

/** The largest n in [0, max] for which fits(n) holds, given fits is monotone and fits(0). */
function largestFitting(max: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The config data and labels for `document`, within `budgetBytes` (default statusBudgetBytes). */
export function encodeStatus(document: StatusDocument, budgetBytes = statusBudgetBytes): EncodedStatus {
  let doc: StatusDocument;
  let reasons = 0;
  const syncs = document.kind === 'Routes' ? 0 : Math.max(0, document.history.length - historyLimit);
  if (document.kind === 'Routes') doc = { ...document, lastError: document.lastError && cut(document.lastError) };
  else ({ doc, reasons } = boundedApp(document));
  if (syncs || reasons) doc = { ...doc, truncated: { objects: 0, syncs, reasons } };
  let out = gzipJson(doc);
  if (out.data.length > budgetBytes) {
    const full = doc;
    const { items, withItems } =
      full.kind === 'Routes'
        ? routeItems(full)
        : { items: [...full.objects].sort(attentionFirst), withItems: appWith(full) };
    const cutTo = (n: number): StatusDocument => ({
      ...withItems(items.slice(0, n)),
      truncated: { objects: items.length - n, syncs, reasons },
    });
    doc = cutTo(largestFitting(items.length, (n) => gzipJson(cutTo(n)).data.length <= budgetBytes));
    out = gzipJson(doc);
  }
  return { data: out.data, jsonBytes: out.jsonBytes, document: doc, labels: statusLabels(doc) };
}

function appWith(d: AppStatusDocument) {
  return (items: unknown[]): StatusDocument => ({
    ...d,
    objects: (items as ObjectEntry[]).slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  });
}

function routeItems(d: RoutesStatusDocument) {
  return {
    items: d.served as unknown[],
    withItems: (items: unknown[]): StatusDocument => ({ ...d, served: items as RoutesStatusDocument['served'] }),
  };
}

export function statusLabels(d: StatusDocument): Record<string, string> {
  return {
    [labelStatusOf]: statusOfValue(d),
    [labelFormat]: statusFormatLabelValue,
    [labelSequence]: String(d.sequence),
    [labelEncoding]: 'gzip',
    [labelWrittenAt]: d.writtenAt,
    [labelWriter]: d.writer.identity,
  };
}

/**
 * The document in a config's data (base64 as the Engine API returns it) with its labels.
 * Throws SC5102 when it is not a v1 document this reader understands.
 */
export function decodeStatus(configName: string, base64Data: string, labels: Record<string, string>): StatusDocument {
  const format = labels[labelFormat];
  if (format !== statusFormatLabelValue)
    throw new TerminalError(
      'SC5102',
      `status ${configName} is in format ${JSON.stringify(format ?? '')}, which this controller cannot read (it reads ${statusFormatLabelValue}); use a controller of the version that wrote it (${labels[labelWriter] ?? 'unknown writer'})`,
    );
  let doc: unknown;
  try {
    const raw = Buffer.from(base64Data, 'base64');
    const json = labels[labelEncoding] === 'gzip' ? gunzipSync(raw) : raw;
    doc = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new TerminalError(
      'SC5102',
      `status ${configName} cannot be decoded (${(err as Error).message}); the next write of its controller replaces it`,
    );
  }
  const d = doc as Partial<StatusDocument> | null;
  if (
    !d ||
    typeof d !== 'object' ||
    d.apiVersion !== statusApiVersion ||
    typeof d.name !== 'string' ||
    typeof d.sequence !== 'number' ||
    !['ApplySet', 'App', 'Routes'].includes(d.kind as string)
  )
    throw new TerminalError(
      'SC5102',
      `status ${configName} is not a ${statusApiVersion} document (apiVersion ${JSON.stringify(d?.apiVersion)}); the next write of its controller replaces it`,
    );
  return d as StatusDocument;
}

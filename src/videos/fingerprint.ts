import { sha256Hex, toHex } from "../lib/crypto";

/**
 * A stable fingerprint of a submission's content for Idempotency-Key matching: field
 * names and values in order, files by their SHA-256. Independent of JSON spacing and of
 * the multipart boundary a client library picks on a retry.
 */
type Value = unknown;

async function fileDigest(file: File): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return `file:${toHex(new Uint8Array(digest))}`;
}

async function normalise(value: Value): Promise<unknown> {
  if (value instanceof File) return fileDigest(value);
  if (Array.isArray(value)) return Promise.all(value.map(normalise));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = await normalise((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export async function fingerprint(route: string, content: Value): Promise<string> {
  return sha256Hex(`${route}\n${JSON.stringify(await normalise(content))}`);
}

export async function fingerprintFields(route: string, fields: Map<string, unknown[]>): Promise<string> {
  const entries: Array<[string, unknown]> = [];
  for (const name of [...fields.keys()].sort()) entries.push([name, await normalise(fields.get(name))]);
  return sha256Hex(`${route}\n${JSON.stringify(entries)}`);
}

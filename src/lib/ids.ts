/**
 * Relay ids: a type prefix (docs/API.md) and 20 random base32 characters (100 bits), so
 * ids are unguessable and an id in a log says what it names.
 */
export type IdPrefix = "task" | "wh" | "dlv" | "evt" | "att" | "req" | "chat";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let body = "";
  for (const b of bytes) body += ALPHABET[b % 32];
  return `${prefix}_${body}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`);
}

import { z } from "@hono/zod-openapi";
import { invalidParam } from "../errors/api-error";

/**
 * Cursor pagination (docs/API.md): newest first, `?limit=` 1–100 (default 20), and an
 * opaque `next_cursor` that encodes the position of the last item returned.
 */
export const PaginationQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "1–100, default 20" }),
  cursor: z.string().optional().openapi({ description: "`next_cursor` of the previous page" }),
};

export interface Position {
  createdAt: string;
  id: string;
}

export function encodeCursor(p: Position): string {
  return btoa(JSON.stringify([p.createdAt, p.id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  try {
    const padded = cursor.replace(/-/g, "+").replace(/_/g, "/");
    const value = JSON.parse(atob(padded + "=".repeat((4 - (padded.length % 4)) % 4))) as unknown;
    if (Array.isArray(value) && typeof value[0] === "string" && typeof value[1] === "string") {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw invalidParam("cursor", "cursor is not a value this API returned as next_cursor.");
}

/** Rows fetched with limit + 1 → the page and its list envelope. */
export function page<R, T>(rows: R[], limit: number, toItem: (row: R) => T, position: (row: R) => Position) {
  const hasMore = rows.length > limit;
  const slice = hasMore ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return {
    object: "list" as const,
    data: slice.map(toItem),
    has_more: hasMore,
    next_cursor: hasMore && last !== undefined ? encodeCursor(position(last)) : null,
  };
}

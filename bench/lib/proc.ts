/**
 * Process-tree resource sampling through Linux /proc: resident memory and CPU time of a
 * process and its descendants, so a benchmark can report what each server process cost
 * (including runtimes like workerd that a library spawns for us). Returns zeros where
 * /proc is not available.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const CLK_TCK = 100; // USER_HZ on Linux

interface StatFields {
  pid: number;
  comm: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
}

function readStat(pid: number): StatFields | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces: split after the last ')'.
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const rest = text.slice(close + 2).split(" ");
    // rest[0] = state (field 3); ppid field 4; utime field 14; stime field 15.
    return { pid, comm, ppid: Number(rest[1]), utimeTicks: Number(rest[11]), stimeTicks: Number(rest[12]) };
  } catch {
    return null;
  }
}

/** All live processes as {pid, ppid, comm}. */
export function listProcesses(): StatFields[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: StatFields[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** `root` and every descendant pid (root first). */
export function processTree(root: number): number[] {
  const all = listProcesses();
  const children = new Map<number, number[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Descendants of `root` (not root itself) whose command name matches. */
export function descendantsNamed(root: number, comm: string | RegExp): number[] {
  const byPid = new Map(listProcesses().map((p) => [p.pid, p]));
  return processTree(root)
    .slice(1)
    .filter((pid) => {
      const c = byPid.get(pid)?.comm ?? "";
      return typeof comm === "string" ? c === comm : comm.test(c);
    });
}

/** Socket inodes listening on a TCP port (IPv4 and IPv6), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
      const localPort = parseInt(cols[1]!.split(":")[1] ?? "", 16);
      if (localPort === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** The pid (among `candidates`) that holds the socket listening on `port`, or null. */
export function pidListeningOn(port: number, candidates: readonly number[]): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return null;
}

/** Resident set size of one process, bytes (0 when gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU time of one process (all its threads), ms. Uses the nanosecond run time of each
 * thread (/proc/<pid>/task/<tid>/schedstat) when available, else utime+stime ticks.
 */
export function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8");
      ns += Number(text.split(" ")[0]);
    }
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // fall through
  }
  const stat = readStat(pid);
  return stat ? ((stat.utimeTicks + stat.stimeTicks) * 1000) / CLK_TCK : 0;
}

export interface TreeUsage {
  pids: number[];
  rssBytes: number;
  cpuMs: number;
}

/** Summed RSS and CPU time of a set of pids (e.g. a process tree). */
export function usageOf(pids: readonly number[]): TreeUsage {
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    rss += rssBytes(pid);
    cpu += cpuMs(pid);
  }
  return { pids: [...pids], rssBytes: rss, cpuMs: cpu };
}

/** Summed RSS and CPU of `root` and its descendants. */
export function treeUsage(root: number): TreeUsage {
  return usageOf(processTree(root));
}

/**
 * Samples the memory of named process groups every `intervalMs` and keeps the peak and
 * last value of each. `groups` maps a label to a function giving the pids to sum (called
 * on every sample, so a tree that grows is followed).
 */
export class MemorySampler {
  private timer: ReturnType<typeof setInterval> | undefined;
  readonly peakBytes = new Map<string, number>();
  readonly lastBytes = new Map<string, number>();

  constructor(
    private readonly groups: Map<string, () => readonly number[]>,
    private readonly intervalMs = 250,
  ) {}

  sample(): void {
    for (const [label, pids] of this.groups) {
      let total = 0;
      for (const pid of pids()) total += rssBytes(pid);
      this.lastBytes.set(label, total);
      if (total > (this.peakBytes.get(label) ?? 0)) this.peakBytes.set(label, total);
    }
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
